import { createHash } from 'node:crypto';
import { getIfExists } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';

// Image features are cached in the store per (model, image content): evaluating the same model on
// the same images again (another template, another probe seed, a re-run after a lost worker)
// embeds nothing. One small object per image keeps the cache shareable between datasets that hold
// the same images and safe under concurrent writers (same key, same bytes).

/** A key-safe identity of a model: its config's name and version (an export bumps the version). */
export function modelCacheKey(config: { name: string; version: string }): string {
  const readable = `${config.name}@${config.version}`.replace(/[^A-Za-z0-9._@-]+/g, '_').slice(0, 80);
  const digest = createHash('sha256').update(`${config.name}\n${config.version}`).digest('hex').slice(0, 12);
  return `${readable}-${digest}`;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function featureKey(modelKey: string, contentHash: string): string {
  return `features/${modelKey}/${contentHash.slice(0, 2)}/${contentHash}.f32`;
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
