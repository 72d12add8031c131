import { abortReason } from './retry-policy.js';

// Requests in flight to one model server at once. The registry is module-level on purpose: every
// activity of a worker process, whichever agent or batch it runs, shares one limit per base URL,
// which is what protects a server that serves several agents. A slot is held only while a request
// is in flight, never during a backoff wait.

export class ConcurrencyLimiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private limit: number) {
    this.setLimit(limit);
  }

  /** The latest setting wins; a larger limit lets waiting callers in at once. */
  setLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be >= 1, got ${limit}`);
    this.limit = limit;
    this.drain();
  }

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.queue.length;
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.running--;
      this.drain();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.running < this.limit && this.queue.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.running++;
        resolve();
      };
      const onAbort = () => {
        const index = this.queue.indexOf(grant);
        if (index >= 0) this.queue.splice(index, 1);
        reject(abortReason(signal as AbortSignal));
      };
      this.queue.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private drain(): void {
    while (this.running < this.limit) {
      const next = this.queue.shift();
      if (!next) return;
      next();
    }
  }
}

const limiters = new Map<string, ConcurrencyLimiter>();

/** The process-wide limiter of one endpoint, created on first use. */
export function endpointLimiter(baseUrl: string, limit: number): ConcurrencyLimiter {
  const key = endpointKey(baseUrl);
  const existing = limiters.get(key);
  if (existing) {
    existing.setLimit(limit);
    return existing;
  }
  const created = new ConcurrencyLimiter(limit);
  limiters.set(key, created);
  return created;
}

/** `http://Host:8000/v1/` and `http://host:8000/v1` are one endpoint. */
export function endpointKey(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return baseUrl.replace(/\/+$/, '');
  }
}
