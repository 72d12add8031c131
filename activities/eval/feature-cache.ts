import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ClipModelConfig } from '../clip/model-directory.js';
import { getIfExists } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';

// Image features are cached in the store per (model, image content): evaluating the same model on
// the same images again (another template, another probe seed, a re-run after a lost worker)
// embeds nothing. One small object per image keeps the cache shareable between datasets that hold
// the same images and safe under concurrent writers (same key, same bytes).

/**
 * A key-safe identity of a model: its config's name and version, readable, plus the hash of its
 * image encoder's bytes. Name and version alone are not enough: two exports left at the export
 * script's default version would share cached features and every score of the second would be
 * the first's. The hash is computed once per encoder file (path, size, modification time).
 */
export async function modelCacheKey(model: { config: ClipModelConfig; dir: string }): Promise<string> {
  const { config } = model;
  const readable = `${config.name}@${config.version}`.replace(/[^A-Za-z0-9._@-]+/g, '_').slice(0, 80);
  return `${readable}-${(await fileHash(path.join(model.dir, config.imageEncoder.file))).slice(0, 16)}`;
}

const fileHashes = new Map<string, Promise<string>>();

async function fileHash(file: string): Promise<string> {
  const info = await stat(file);
  const identity = `${file}\n${info.size}\n${info.mtimeMs}`;
  let hash = fileHashes.get(identity);
  if (!hash) {
    hash = (async () => {
      const digest = createHash('sha256');
      for await (const chunk of createReadStream(file)) digest.update(chunk as Buffer);
      return digest.digest('hex');
    })();
    fileHashes.set(identity, hash);
    hash.catch(() => fileHashes.delete(identity));
  }
  return hash;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function readCachedFeature(
  store: ObjectStore,
  key: string,
  dim: number,
): Promise<Float32Array | undefined> {
  const bytes = await getIfExists(store, key);
  // A cache entry of the wrong size (another model under the same name and version, a cut write)
  // is ignored and written again.
  if (!bytes || bytes.byteLength !== dim * 4) return undefined;
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export async function writeCachedFeature(store: ObjectStore, key: string, row: Float32Array): Promise<void> {
  await store.put(key, new Uint8Array(row.buffer, row.byteOffset, row.byteLength), {
    contentType: 'application/octet-stream',
  });
}
