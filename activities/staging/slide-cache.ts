import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PathgenError } from '../common/errors.js';
import type { ObjectStore } from '../store/object-store.js';

export interface SlideCacheOptions {
  store: ObjectStore;
  /** Local folder for staged copies; one folder per staged object inside it. */
  dir: string;
  /** The cache is trimmed (least recently used first) to stay under this many bytes. */
  maxBytes: number;
  /** Size of each ranged read; a killed download resumes from the last whole chunk. */
  chunkBytes?: number;
  /** Called after each chunk, e.g. to heartbeat `bytes` so a retry can report where it resumed. */
  onProgress?: (bytes: number, total: number) => void;
  signal?: AbortSignal;
}

export interface StagedSlide {
  path: string;
  size: number;
  /** SHA-256 of the bytes, computed while they arrived. */
  sha256: string;
  /** True when this call downloaded (some of) the bytes; false for a cache hit. */
  downloaded: boolean;
}

const DEFAULT_CHUNK = 64 * 1024 * 1024;

/**
 * Copies a slide object from the store to local disk (sharp and vips need a file), once: the
 * copy is keyed by the object's key, size and etag, so a changed object is fetched again.
 * Large objects arrive in ranged reads appended to a `.part` file that a retry continues.
 */
export async function stageFromStore(key: string, options: SlideCacheOptions): Promise<StagedSlide> {
  // Two activities of one worker staging the same slide must not append to one .part file.
  const previous = inFlight.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => stageOnce(key, options));
  inFlight.set(key, run);
  try {
    return await run;
  } finally {
    if (inFlight.get(key) === run) inFlight.delete(key);
  }
}

const inFlight = new Map<string, Promise<StagedSlide>>();

async function stageOnce(key: string, options: SlideCacheOptions): Promise<StagedSlide> {
  const info = await options.store.head(key);
  if (!info) throw new PathgenError('SlideNotFound', `no slide object ${key} in ${options.store.description}`, { key });
  const identity = createHash('sha256')
    .update(`${options.store.description}\n${key}\n${info.size}\n${info.etag ?? info.lastModified.toISOString()}`)
    .digest('hex')
    .slice(0, 32);
  const folder = path.join(options.dir, identity);
  const target = path.join(folder, path.posix.basename(key));
  const hashFile = path.join(folder, 'sha256');
  await mkdir(folder, { recursive: true });

  const cached = await readFile(hashFile, 'utf8').catch(() => undefined);
  if (cached && (await stat(target).catch(() => undefined))?.size === info.size) {
    const now = new Date();
    await utimes(folder, now, now);
    return { path: target, size: info.size, sha256: cached.trim(), downloaded: false };
  }

  const partial = `${target}.part`;
  const hash = createHash('sha256');
  let offset = (await stat(partial).catch(() => undefined))?.size ?? 0;
  if (offset > info.size) {
    await rm(partial, { force: true });
    offset = 0;
  }
  // The hash of what an earlier attempt fetched is recomputed locally instead of fetched again.
  if (offset > 0) for await (const chunk of createReadStream(partial)) hash.update(chunk as Buffer);

  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK;
  const handle = await open(partial, 'a');
  try {
    while (offset < info.size) {
      options.signal?.throwIfAborted();
      const end = Math.min(offset + chunkBytes, info.size) - 1;
      const stream = await options.store.getStream(key, { start: offset, end });
      for await (const chunk of stream) {
        const bytes = chunk as Buffer;
        hash.update(bytes);
        await handle.write(bytes);
        offset += bytes.length;
      }
      await handle.datasync();
      options.onProgress?.(offset, info.size);
    }
  } finally {
    await handle.close();
  }
  const sha256 = hash.digest('hex');
  await rename(partial, target);
  await writeFile(hashFile, sha256);
  await trimCache(options.dir, options.maxBytes, folder);
  return { path: target, size: info.size, sha256, downloaded: true };
}

/** Removes least recently used staged slides until the cache fits, never the one just staged. */
export async function trimCache(dir: string, maxBytes: number, keep: string): Promise<void> {
  const entries = await Promise.all(
    (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map(async (entry) => {
        const folder = path.join(dir, entry.name);
        const files = await readdir(folder);
        const sizes = await Promise.all(files.map(async (file) => (await stat(path.join(folder, file))).size));
        return { folder, bytes: sizes.reduce((a, b) => a + b, 0), used: (await stat(folder)).mtimeMs };
      }),
  );
  let total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
  for (const entry of entries.sort((a, b) => a.used - b.used)) {
    if (total <= maxBytes) break;
    if (entry.folder === keep) continue;
    // Readers that already opened a file keep reading it after the unlink (POSIX semantics).
    await rm(entry.folder, { recursive: true, force: true });
    total -= entry.bytes;
  }
}
