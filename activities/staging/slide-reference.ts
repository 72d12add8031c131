import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PathgenError } from '../common/errors.js';
import type { ObjectStore } from '../store/object-store.js';

/** Where a slide lives: a file this machine can open, or an object in the configured store. */
export type SlideLocation = { kind: 'local'; path: string } | { kind: 'store'; key: string };

/**
 * Reads a slide reference as a user writes it in a manifest or on the command line:
 * `file:///abs/a.svs`, `/abs/a.svs`, `./a.svs` → a local file; `s3://<bucket>/<key>` of the
 * configured store → that object; anything else is a local path when such a file exists here,
 * otherwise a key in the configured store.
 */
export function parseSlideReference(reference: string, store: ObjectStore): SlideLocation {
  const ref = reference.trim();
  if (ref === '') throw new PathgenError('BadSlideReference', 'empty slide reference');
  if (ref.startsWith('file://')) return { kind: 'local', path: fileURLToPath(ref) };
  if (ref.startsWith('s3://')) {
    const storeRoot = store.description;
    if (!storeRoot.startsWith('s3://') || !ref.startsWith(storeRoot)) {
      throw new PathgenError(
        'BadSlideReference',
        `${ref} is outside the configured store ${storeRoot}: copy the slide into it, or configure storage to point at that bucket`,
        { reference: ref, store: storeRoot },
      );
    }
    return { kind: 'store', key: ref.slice(storeRoot.length) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) {
    throw new PathgenError(
      'BadSlideReference',
      `unsupported slide URI scheme in ${ref} (use file://, s3:// or a path)`,
      {
        reference: ref,
      },
    );
  }
  if (path.isAbsolute(ref) || ref.startsWith('./') || ref.startsWith('../') || existsSync(ref)) {
    return { kind: 'local', path: path.resolve(ref) };
  }
  return { kind: 'store', key: ref };
}

/**
 * A missing file is its own failure: unlike a corrupt one, it is fixed by putting the file back.
 * A folder is a slide too: a DICOM series, one instance file per level.
 */
export async function assertSlideFileExists(file: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile() && !info?.isDirectory())
    throw new PathgenError('SlideNotFound', `no slide file or folder at ${file}`, { path: file });
}
