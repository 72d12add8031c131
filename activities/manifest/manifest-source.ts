import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PathgenError } from '../common/errors.js';
import { parseSlideReference } from '../staging/slide-reference.js';
import type { ObjectStore } from '../store/object-store.js';
import { isStoreError } from '../store/store-errors.js';

// Where a manifest (or any line-oriented input file) comes from: rows given inline for small runs,
// or a JSONL/CSV file on this machine or in the object store for large ones. Files are always read
// as streams, from any byte offset, so nothing holds a whole 100,000-row manifest in memory.

export type ManifestFormat = 'jsonl' | 'csv';

export type ManifestSource =
  | { kind: 'inline'; rows: readonly unknown[] }
  | { kind: 'file'; path: string; format?: ManifestFormat }
  | { kind: 'store'; key: string; format?: ManifestFormat };

export type FileManifestSource = Exclude<ManifestSource, { kind: 'inline' }>;

/**
 * A manifest named the way users name slides: a path or `file://` URI → a local file; an `s3://`
 * URI of the configured store or a bare key → a store object.
 */
export function manifestSourceFromReference(
  reference: string,
  store: ObjectStore,
  format?: ManifestFormat,
): FileManifestSource {
  let location;
  try {
    location = parseSlideReference(reference, store);
  } catch (error) {
    throw new PathgenError('InvalidInput', `manifest reference: ${(error as Error).message}`, { reference });
  }
  const base = location.kind === 'local' ? { kind: 'file' as const, path: location.path } : location;
  return format === undefined ? base : { ...base, format };
}

export function describeSource(source: ManifestSource): string {
  switch (source.kind) {
    case 'inline':
      return `inline list of ${source.rows.length} rows`;
    case 'file':
      return source.path;
    case 'store':
      return `store object ${source.key}`;
  }
}

/** The format named by the source, or told by the file name's extension. */
export function sourceFormat(source: FileManifestSource): ManifestFormat {
  if (source.format !== undefined) return source.format;
  const name = source.kind === 'file' ? source.path : source.key;
  const extension = path.extname(name).toLowerCase();
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl';
  if (extension === '.csv') return 'csv';
  throw new PathgenError(
    'InvalidInput',
    `cannot tell the format of ${describeSource(source)} from its name: use .jsonl or .csv, or give the format`,
    { source: describeSource(source) },
  );
}

/**
 * The source's bytes from `startByte` on. A missing file or object is `ManifestNotFound`; other
 * store failures keep their own codes (an `Unavailable` store is worth retrying).
 */
export async function openSourceBytes(
  source: FileManifestSource,
  store: ObjectStore | undefined,
  startByte = 0,
): Promise<Readable> {
  if (source.kind === 'file') {
    const info = await stat(source.path).catch(() => undefined);
    if (!info?.isFile()) throw notFound(source);
    return createReadStream(source.path, { start: startByte, highWaterMark: 256 * 1024 });
  }
  if (store === undefined) {
    throw new PathgenError('InvalidInput', `reading ${describeSource(source)} needs a store`, { key: source.key });
  }
  try {
    return await store.getStream(source.key, startByte > 0 ? { start: startByte } : undefined);
  } catch (error) {
    if (isStoreError(error, 'NotFound')) throw notFound(source);
    throw error;
  }
}

function notFound(source: FileManifestSource): PathgenError {
  return new PathgenError('ManifestNotFound', `no manifest at ${describeSource(source)}`, {
    source: describeSource(source),
  });
}
