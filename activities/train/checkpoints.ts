import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PathgenError } from '../common/errors.js';
import { listAll } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';

// open_clip writes `epoch_N.pt` into <logs>/<name>/checkpoints/ at the end of epoch N (1-based).
// infra/train/pathgen_train.py makes that write atomic (epoch_N.pt.partial, renamed when whole), so
// a checkpoint file that exists under its own name is complete and can go to the store at once;
// only stored checkpoints are resumed from.

const checkpointName = /^epoch_(\d+)\.pt$/;

export function checkpointFileName(epoch: number): string {
  return `epoch_${epoch}.pt`;
}

export function checkpointEpoch(name: string): number | undefined {
  const match = checkpointName.exec(path.posix.basename(name));
  return match ? Number(match[1]) : undefined;
}

/** Epochs of the checkpoints in a local folder, ascending. */
export async function localCheckpointEpochs(dir: string): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .map((name) => checkpointEpoch(name))
    .filter((epoch): epoch is number => epoch !== undefined)
    .sort((a, b) => a - b);
}

/** The newest checkpoint under a store prefix, if any. */
export async function newestStoredCheckpoint(
  store: ObjectStore,
  prefix: string,
): Promise<{ key: string; epoch: number; size: number } | undefined> {
  let newest: { key: string; epoch: number; size: number } | undefined;
  for await (const object of listAll(store, prefix)) {
    const epoch = checkpointEpoch(object.key);
    if (epoch !== undefined && (!newest || epoch > newest.epoch))
      newest = { key: object.key, epoch, size: object.size };
  }
  return newest;
}

/** Streams a local file into the store (checkpoints are hundreds of MB to GBs: never whole in memory). */
export async function uploadFile(store: ObjectStore, file: string, key: string): Promise<number> {
  const result = await store.put(key, createReadStream(file), { contentType: 'application/octet-stream' });
  return result.size;
}

/**
 * Copies a stored object to a local file through a `.part` file renamed into place. A copy is reused
 * only when a note beside it names the same store, key, size and etag: work folders outlive runs,
 * and another store's checkpoint of the same model has the same size.
 */
export async function downloadFile(store: ObjectStore, key: string, file: string): Promise<void> {
  const remote = await store.head(key);
  if (!remote) throw new PathgenError('TrainingDataMissing', `${key} is not in ${store.description}`, { key });
  const identity = `${store.description}\n${key}\n${remote.size}\n${remote.etag ?? remote.lastModified.toISOString()}\n`;
  const note = `${file}.source`;
  if ((await readFile(note, 'utf8').catch(() => undefined)) === identity && (await stat(file).catch(() => undefined))) {
    return;
  }
  await mkdir(path.dirname(file), { recursive: true });
  await rm(note, { force: true });
  const partial = `${file}.part`;
  await pipeline(await store.getStream(key), createWriteStream(partial));
  await rename(partial, file);
  await writeFile(note, identity);
}

/**
 * Uploads each checkpoint of a training attempt once; `sync()` is safe to call from a timer and at
 * the end (calls are serialised).
 */
export class CheckpointSync {
  private readonly uploaded = new Set<number>();
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ObjectStore,
    private readonly localDir: string,
    private readonly storePrefix: string,
    /** Stored checkpoints kept, newest first; 0 keeps all. */
    private readonly keep: number,
    private readonly onUploaded?: (checkpoint: { epoch: number; key: string; bytes: number }) => void,
  ) {}

  private pending = 0;

  /** True while an upload runs: a timer should not queue more calls behind a multi-GB upload. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** Uploads complete checkpoints not uploaded yet; calls are serialised. */
  sync(): Promise<void> {
    this.pending += 1;
    // A failed upload (a store hiccup) is retried by the next call; the last call reports its own failure.
    this.running = this.running
      .catch(() => undefined)
      .then(() => this.syncOnce())
      .finally(() => (this.pending -= 1));
    return this.running;
  }

  private async syncOnce(): Promise<void> {
    const epochs = await localCheckpointEpochs(this.localDir);
    let uploadedNow = 0;
    for (const epoch of epochs) {
      if (this.uploaded.has(epoch)) continue;
      const key = `${this.storePrefix}${checkpointFileName(epoch)}`;
      const bytes = await uploadFile(this.store, path.join(this.localDir, checkpointFileName(epoch)), key);
      this.uploaded.add(epoch);
      uploadedNow += 1;
      this.onUploaded?.({ epoch, key, bytes });
    }
    // The trainer never reads an old checkpoint again: once stored, only the newest stays on its disk.
    const newest = epochs[epochs.length - 1];
    for (const epoch of epochs) {
      if (epoch !== newest && this.uploaded.has(epoch))
        await rm(path.join(this.localDir, checkpointFileName(epoch)), { force: true });
    }
    // Listing the store once per new checkpoint, not on every poll.
    if (this.keep > 0 && uploadedNow > 0) await pruneStoredCheckpoints(this.store, this.storePrefix, this.keep);
  }
}

/** Deletes all but the newest `keep` checkpoints under a prefix (only after a newer one is stored). */
export async function pruneStoredCheckpoints(store: ObjectStore, prefix: string, keep: number): Promise<void> {
  const stored: { key: string; epoch: number }[] = [];
  for await (const object of listAll(store, prefix)) {
    const epoch = checkpointEpoch(object.key);
    if (epoch !== undefined) stored.push({ key: object.key, epoch });
  }
  stored.sort((a, b) => b.epoch - a.epoch);
  for (const old of stored.slice(keep)) await store.delete(old.key);
}

/** Removes an attempt's folder so a new attempt starts with none of a killed one's half-written files. */
export async function clearFolder(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
