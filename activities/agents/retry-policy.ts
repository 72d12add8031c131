import type { AgentRetrySettings } from './agent-settings.js';

// When to try a request again and how long to wait first. Ours is the only retry policy: the
// OpenAI client is built with `maxRetries: 0` (openai-backend.ts), so attempts, backoff and the
// Retry-After cap are all read from one place, the config.

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so callers that
 * failed together do not come back together. A server's Retry-After (or OpenAI's retry-after-ms)
 * is a floor. Both are capped by `maxDelaySeconds`, which keeps a batch's heartbeats flowing.
 */
export function retryDelayMs(
  failures: number,
  retry: AgentRetrySettings,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const step = retry.baseDelaySeconds * 1000 * 2 ** Math.max(0, failures - 1);
  const capped = Math.min(step, retry.maxDelaySeconds * 1000);
  const jittered = capped / 2 + (random() * capped) / 2;
  return Math.min(Math.max(jittered, retryAfterMs ?? 0), retry.maxDelaySeconds * 1000);
}

/** Milliseconds a server asked us to wait, from `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\s*\d+(?:\.\d+)?\s*$/.test(ms)) return Number(ms);
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\s*\d+(?:\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** HTTP statuses worth another attempt: rate limits, server trouble, and the two "try again" 4xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Waits, or rejects with the signal's reason as soon as it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('cancelled', { cause: reason });
}
