import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ObjectStore, PutResult } from '../store/object-store.js';

/**
 * An object written to the store piece by piece as it is produced (a tar shard, a CSV, a JSON
 * array), so the whole object never sits in memory: writes wait while the store is behind. The
 * object appears under its key only when `end()` succeeds (the stores rename or complete the upload
 * then); `abort()` leaves nothing under the key.
 */
export class StoreUpload {
  readonly key: string;
  private readonly stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly done: Promise<PutResult>;
  private failure: Error | undefined;

  constructor(store: ObjectStore, key: string, contentType?: string) {
    this.key = key;
    // abort() may destroy the stream before the store has started reading it; the store then sees
    // the error when it does read, and the error event must not go unheard meanwhile.
    this.stream.on('error', () => undefined);
    this.done = store.put(key, this.stream, contentType === undefined ? undefined : { contentType });
    // Remember a failed upload so the next write throws it instead of waiting for a drain forever.
    this.done.catch((error: unknown) => {
      this.failure = error instanceof Error ? error : new Error(String(error));
    });
  }

  async write(data: Uint8Array | string): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.stream.write(data)) return;
    const ended = this.done.then(() => {
      throw new Error(`the upload of ${this.key} ended before its data did`);
    });
    await Promise.race([once(this.stream, 'drain'), ended]);
  }

  async end(): Promise<PutResult> {
    this.stream.end();
    return await this.done;
  }

  async abort(reason: Error): Promise<void> {
    this.stream.destroy(reason);
    await this.done.catch(() => undefined);
  }
}

/**
 * Runs `task` over `items` with at most `limit` at once. On the first failure it starts nothing
 * more, lets the running tasks finish, and throws that failure.
 */
export async function forEachBounded<T>(
  items: Iterable<T>,
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: Error | undefined;
  for (const item of items) {
    const promise: Promise<void> = task(item)
      .catch((error: unknown) => {
        failure ??= error instanceof Error ? error : new Error(String(error));
      })
      .finally(() => running.delete(promise));
    running.add(promise);
    if (running.size >= limit) await Promise.race(running);
    if (failure !== undefined) break;
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
}
