import { PathgenError } from '../common/errors.js';

// A sample's key names its three files in a WebDataset shard (<key>.jpg, <key>.txt, <key>.json)
// and its image beside the CSV. WebDataset splits a member name at the first '.' of its base name
// into key and extension, so a key may not contain a dot (TCGA slide ids do:
// "TCGA-AA-3844-01Z-00-DX1.bf88ce1f-…"), nor a '/', which would make it a folder.

export const sampleKeyPattern = /^[A-Za-z0-9_-]{1,240}$/;

/**
 * `<slideId>_<x>_<y>` with every character outside letters, digits, '_' and '-' turned into '-'.
 * The last two '_'-separated parts are always the coordinates, so distinct (slide, x, y) give
 * distinct keys unless two slide ids differ only where one has '.' and the other '-' or another
 * replaced character; `exportDataset` rejects such a collision by name rather than merging samples.
 */
export function sampleKey(slideId: string, x: number, y: number): string {
  if (!Number.isSafeInteger(x) || !Number.isSafeInteger(y) || x < 0 || y < 0) {
    throw new PathgenError('InvalidInput', `sample coordinates must be non-negative integers, got ${x}, ${y}`, {
      slideId,
      x,
      y,
    });
  }
  const key = `${slideKeyPrefix(slideId)}${x}_${y}`;
  assertSampleKey(key);
  return key;
}

/** `<sanitised slide id>_`: what every sample key of the slide starts with. */
export function slideKeyPrefix(slideId: string): string {
  return `${slideId.replace(/[^A-Za-z0-9_-]/g, '-')}_`;
}

export function assertSampleKey(key: string): void {
  if (!sampleKeyPattern.test(key)) {
    throw new PathgenError(
      'InvalidInput',
      `sample key ${JSON.stringify(key)} must be 1–240 letters, digits, '_' or '-' (no dots: WebDataset splits names at the first dot)`,
      { key },
    );
  }
}

/** Code-unit order, the same everywhere (no locale): the order samples take in shards. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
