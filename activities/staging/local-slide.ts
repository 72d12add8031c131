import path from 'node:path';
import type { ObjectStore } from '../store/object-store.js';
import type { OpenSlideOptions } from '../wsi/slide-reader.js';
import { isPathgenError } from '../common/errors.js';
import { stageFromStore } from './slide-cache.js';
import { stageFolderFromStore } from './slide-folder-cache.js';
import { assertSlideFileExists, parseSlideReference } from './slide-reference.js';

export interface LocalSlideDeps {
  store: ObjectStore;
  slideCacheDir: string;
  slideCacheMaxBytes: number;
}

/**
 * A file this machine can open for a slide reference: the slide itself when it is local (or in an
 * fs store), else a copy staged from the store into the bounded slide cache.
 */
export async function localSlidePath(
  deps: LocalSlideDeps,
  reference: string,
  signal: AbortSignal,
  onStaging?: (bytes: number, total: number) => void,
): Promise<string> {
  const location = parseSlideReference(reference, deps.store);
  if (location.kind === 'local') return checkedFile(location.path);
  // `series/` names a folder (a DICOM series) as `series` does.
  const key = location.key.replace(/\/+$/, '');
  const inStore = deps.store.localFile?.(key);
  if (inStore !== undefined) return checkedFile(inStore);
  const options = {
    store: deps.store,
    dir: path.join(deps.slideCacheDir, 'slides'),
    maxBytes: deps.slideCacheMaxBytes,
    signal,
    ...(onStaging ? { onProgress: onStaging } : {}),
  };
  try {
    return (await stageFromStore(key, options)).path;
  } catch (error) {
    // No object of that key: the key may be a folder of objects, a DICOM series.
    if (!isPathgenError(error) || error.code !== 'SlideNotFound') throw error;
    const folder = await stageFolderFromStore(key, options);
    if (!folder) throw error;
    return folder.path;
  }
}

async function checkedFile(file: string): Promise<string> {
  await assertSlideFileExists(file);
  return file;
}

/** How a worker opens a local slide: conversions cached beside staged slides, its tile cache size. */
export function workerSlideOptions(
  deps: Pick<LocalSlideDeps, 'slideCacheDir'> & { tileCacheBytes?: number },
  signal: AbortSignal,
): OpenSlideOptions {
  const options: OpenSlideOptions = { conversionCacheDir: path.join(deps.slideCacheDir, 'converted'), signal };
  if (deps.tileCacheBytes !== undefined) options.tileCacheBytes = deps.tileCacheBytes;
  return options;
}
