// When the app lists a run's records again. The first request for a run waits for its listing; after
// that a request older than the refresh interval starts a new listing and is answered from the
// previous one at once: re-listing 4,000 slide records takes a quarter of a second on a filesystem
// store (longer on S3), and no page view should wait for it. Concurrent requests share one listing.
// A listing that fails is not hidden behind old data: the next request waits for a new one, so the
// failure reaches the page.

export interface Refreshable {
  /** When the last listing ended (-Infinity before the first). */
  refreshedAt: number;
  refreshing?: Promise<void>;
  /** The last background listing failed. */
  failed?: boolean;
}

export async function refreshStale(entry: Refreshable, refreshMs: number, refresh: () => Promise<void>): Promise<void> {
  if (Date.now() - entry.refreshedAt < refreshMs && !entry.failed) return;
  const mustWait = entry.refreshedAt === -Infinity || entry.failed === true;
  entry.refreshing ??= refresh()
    .then(() => {
      entry.failed = false;
    })
    .finally(() => (entry.refreshing = undefined));
  if (mustWait) {
    await entry.refreshing;
    return;
  }
  entry.refreshing.catch(() => (entry.failed = true));
}
