import { describe, expect, it } from 'vitest';
import { refreshStale, type Refreshable } from '../../workers/review-app/stale-refresh.js';

// When a page waits for a re-listing: only the first time, and after a listing that failed.

function controlled() {
  let release!: (ok: boolean) => void;
  const calls: number[] = [];
  const refresh = (entry: Refreshable) => () => {
    calls.push(Date.now());
    return new Promise<void>((resolve, reject) => {
      release = (ok) => {
        if (ok) {
          entry.refreshedAt = Date.now();
          resolve();
        } else reject(new Error('the store did not answer'));
      };
    });
  };
  return { refresh, calls, release: (ok: boolean) => release(ok) };
}

const settled = (promise: Promise<unknown>) =>
  Promise.race([promise.then(() => 'done'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 20))]);

describe('refreshStale', () => {
  it('waits for the first listing, then answers stale requests at once while one shared listing runs', async () => {
    const entry: Refreshable = { refreshedAt: -Infinity };
    const { refresh, calls, release } = controlled();
    const first = refreshStale(entry, 0, refresh(entry));
    expect(await settled(first)).toBe('waiting');
    release(true);
    await first;

    entry.refreshedAt = 0; // long ago: stale
    expect(await settled(refreshStale(entry, 1000, refresh(entry)))).toBe('done');
    expect(await settled(refreshStale(entry, 1000, refresh(entry)))).toBe('done');
    expect(calls).toHaveLength(2);
    release(true);
    await entry.refreshing;
    expect(await settled(refreshStale(entry, 1000, refresh(entry)))).toBe('done');
    expect(calls).toHaveLength(2);
  });

  it('makes the next request wait, and fail, after a background listing failed', async () => {
    const entry: Refreshable = { refreshedAt: 0 };
    const { refresh, release } = controlled();
    await refreshStale(entry, 1000, refresh(entry));
    release(false);
    await entry.refreshing?.catch(() => undefined);
    expect(entry.failed).toBe(true);
    const next = refreshStale(entry, 1000, refresh(entry));
    release(false);
    await expect(next).rejects.toThrow('the store did not answer');
    const again = refreshStale(entry, 1000, refresh(entry));
    release(true);
    await again;
    expect(entry.failed).toBe(false);
  });
});
