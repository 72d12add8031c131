import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter, endpointLimiter, isLocalUrl } from '../../activities/agents/index.js';
import { isRetryableStatus, retryAfterMs, retryDelayMs, sleep } from '../../activities/agents/retry-policy.js';

const retry = { maxAttempts: 6, baseDelaySeconds: 1, maxDelaySeconds: 60 };

describe('retryDelayMs', () => {
  it('doubles per failure with half of each step random, up to the cap', () => {
    expect(retryDelayMs(1, retry, undefined, () => 0)).toBe(500);
    expect(retryDelayMs(1, retry, undefined, () => 1)).toBe(1000);
    expect(retryDelayMs(3, retry, undefined, () => 0.5)).toBe(3000);
    expect(retryDelayMs(20, retry, undefined, () => 1)).toBe(60_000);
  });

  it('waits at least what the server asked, but never past the cap', () => {
    expect(retryDelayMs(1, retry, 7000, () => 0)).toBe(7000);
    expect(retryDelayMs(1, retry, 600_000, () => 0)).toBe(60_000);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('reads seconds, an HTTP date, and OpenAI retry-after-ms first', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:10 GMT' }), now)).toBe(10_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Tue, 31 Dec 2024 23:00:00 GMT' }), now)).toBe(0);
    expect(retryAfterMs(new Headers({ 'retry-after': '3', 'retry-after-ms': '250' }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

describe('isRetryableStatus', () => {
  it('retries rate limits, timeouts and server errors only', () => {
    expect([408, 409, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 422].some(isRetryableStatus)).toBe(false);
  });
});

describe('sleep', () => {
  it('rejects with the abort reason as soon as the signal fires', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 10);
    await expect(sleep(10_000, controller.signal)).rejects.toThrow('stop');
  });
});

describe('ConcurrencyLimiter', () => {
  it('runs at most `limit` tasks at once and lets waiting ones in as others end', async () => {
    const limiter = new ConcurrencyLimiter(2);
    let running = 0;
    let peak = 0;
    const task = async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(5);
      running--;
    };
    await Promise.all(Array.from({ length: 7 }, () => limiter.run(task)));
    expect(peak).toBe(2);
    expect(limiter.active).toBe(0);
  });

  it('drops a waiting caller whose signal aborts', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const holding = limiter.run(() => sleep(30));
    const controller = new AbortController();
    const waiting = limiter.run(() => Promise.resolve('ran'), controller.signal);
    expect(limiter.waiting).toBe(1);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(limiter.waiting).toBe(0);
    await holding;
  });

  it('is one limiter per endpoint for the whole process', () => {
    const a = endpointLimiter('http://Models.local:8000/v1/', 4);
    const b = endpointLimiter('http://models.local:8000/v1', 2);
    expect(a).toBe(b);
    expect(endpointLimiter('http://other.local:8000/v1', 2)).not.toBe(a);
  });
});

describe('isLocalUrl', () => {
  it('treats loopback, private addresses and single-label hosts as local', () => {
    for (const url of [
      'http://127.0.0.1:8000/v1',
      'http://localhost:11434/v1',
      'http://[::1]:8000/v1',
      'http://10.1.2.3/v1',
      'http://192.168.0.5:8000/v1',
      'http://172.20.0.2/v1',
      'http://vllm:8000/v1',
      'http://gpu-box.local/v1',
    ])
      expect(isLocalUrl(url), url).toBe(true);
    for (const url of ['https://api.openai.com/v1', 'https://models.example.org/v1', 'http://8.8.8.8/v1', 'nonsense'])
      expect(isLocalUrl(url), url).toBe(false);
  });
});
