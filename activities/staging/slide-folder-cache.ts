import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PathgenError } from '../common/errors.js';
import { listAll, type ObjectInfo, type ObjectStore } from '../store/object-store.js';
import { trimCache, type SlideCacheOptions, type StagedSlide } from './slide-cache.js';

// A slide that is a folder of objects in the store (a DICOM series: one instance per level),
// staged as one folder of the slide cache: the objects directly under `key/`, each fetched in
// ranged chunks, the folder marked complete last. The copy is keyed by every member's key, size
// and etag, so a series that gains, loses or changes an instance is fetched again; one that
// changes while it is being fetched fails with SlideChanged (retryable) and leaves no copy.

const DEFAULT_CHUNK = 64 * 1024 * 1024;
/** Written last: a folder without it is an interrupted staging, resumed member by member. */
const completeMarker = '.staged';

/** The staged folder, or undefined when the store has no objects under `key/`. */
export async function stageFolderFromStore(key: string, options: SlideCacheOptions): Promise<StagedSlide | undefined> {
  const previous = inFlight.get(key) ?? Promise.resolve(undefined);
  const run = previous.catch(() => undefined).then(() => stageFolderOnce(key, options));
  inFlight.set(key, run);
  try {
    return await run;
  } finally {
    if (inFlight.get(key) === run) inFlight.delete(key);
  }
}

const inFlight = new Map<string, Promise<StagedSlide | undefined>>();

async function stageFolderOnce(key: string, options: SlideCacheOptions): Promise<StagedSlide | undefined> {
  const prefix = `${key}/`;
  const members = await listMembers(options.store, prefix);
  if (members.length === 0) return undefined;
  const identity = folderIdentity(options.store, prefix, members);
  const folder = path.join(options.dir, identity.slice(0, 32));
  const size = members.reduce((sum, object) => sum + object.size, 0);
  await mkdir(folder, { recursive: true });
  if (await stat(path.join(folder, completeMarker)).catch(() => undefined)) {
    const now = new Date();
    await utimes(folder, now, now);
    return { path: folder, size, sha256: identity, downloaded: false };
  }

  const total = { done: 0, size };
  try {
    for (const object of members)
      await stageMember(object, path.join(folder, path.posix.basename(object.key)), options, total);
  } catch (error) {
    // A member deleted or shrunk since the listing fails its GET (NotFound, an unsatisfiable range):
    // a fresh listing tells that apart from a store outage. An interrupted staging (aborted, or the
    // store down) keeps what arrived, for the retry to resume.
    if (options.signal?.aborted) throw error;
    const now = await listMembers(options.store, prefix).catch(() => undefined);
    if (now === undefined || folderIdentity(options.store, prefix, now) === identity) throw error;
    throw await seriesChanged(folder, prefix, error);
  }
  // A member overwritten between two of its ranged reads, or an instance added meanwhile, fails no
  // GET, yet the copy would mix two versions of the series: only an unchanged listing makes it one.
  const after = await listMembers(options.store, prefix);
  if (folderIdentity(options.store, prefix, after) !== identity) throw await seriesChanged(folder, prefix);
  await writeFile(path.join(folder, completeMarker), `${identity}\n`);
  await trimCache(options.dir, options.maxBytes, folder);
  return { path: folder, size, sha256: identity, downloaded: true };
}

/** The objects directly under `prefix`: a series is flat, and nested folders are other slides. */
async function listMembers(store: ObjectStore, prefix: string): Promise<ObjectInfo[]> {
  const members: ObjectInfo[] = [];
  for await (const object of listAll(store, prefix))
    if (!object.key.slice(prefix.length).includes('/')) members.push(object);
  return members;
}

function folderIdentity(store: ObjectStore, prefix: string, members: readonly ObjectInfo[]): string {
  const hash = createHash('sha256').update(`${store.description}\n${prefix}\n`);
  for (const object of members)
    hash.update(`${object.key}\n${object.size}\n${object.etag ?? object.lastModified.toISOString()}\n`);
  return hash.digest('hex');
}

/** The half-fetched copy is of a listing that no longer holds: removed, so no retry resumes it. */
async function seriesChanged(folder: string, prefix: string, cause?: unknown): Promise<PathgenError> {
  await rm(folder, { recursive: true, force: true });
  return new PathgenError(
    'SlideChanged',
    `the objects under ${prefix} changed while they were staged; staging again fetches the current series`,
    { prefix },
    cause === undefined ? undefined : { cause },
  );
}

/** One member, skipped when an earlier attempt already moved it in whole. */
async function stageMember(
  object: ObjectInfo,
  target: string,
  options: SlideCacheOptions,
  total: { done: number; size: number },
): Promise<void> {
  if ((await stat(target).catch(() => undefined))?.size === object.size) {
    total.done += object.size;
    options.onProgress?.(total.done, total.size);
    return;
  }
  const partial = `${target}.part`;
  await rm(partial, { force: true });
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK;
  const handle = await open(partial, 'w');
  try {
    for (let offset = 0; offset < object.size;) {
      options.signal?.throwIfAborted();
      const end = Math.min(offset + chunkBytes, object.size) - 1;
      const start = offset;
      for await (const chunk of await options.store.getStream(object.key, { start, end })) {
        const bytes = chunk as Buffer;
        await handle.write(bytes);
        offset += bytes.length;
        total.done += bytes.length;
      }
      if (offset === start) throw new Error(`store returned no bytes of ${object.key} from byte ${start}`);
      options.onProgress?.(total.done, total.size);
    }
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(partial, target);
}
