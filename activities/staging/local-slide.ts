import path from 'node:path';
import type { ObjectStore } from '../store/object-store.js';
import { stageFromStore } from './slide-cache.js';
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
  const inStore = deps.store.localFile?.(location.key);
  if (inStore !== undefined) return checkedFile(inStore);
  const staged = await stageFromStore(location.key, {
    store: deps.store,
    dir: path.join(deps.slideCacheDir, 'slides'),
    maxBytes: deps.slideCacheMaxBytes,
    signal,
    ...(onStaging ? { onProgress: onStaging } : {}),
  });
  return staged.path;
}

async function checkedFile(file: string): Promise<string> {
  await assertSlideFileExists(file);
  return file;
}
