import path from 'node:path';
import { loadClipModel } from '../activities/clip/index.js';
import type { ClipModel, ClipModelSource } from '../activities/clip/index.js';
import { parseSlideReference } from '../activities/staging/slide-reference.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import type { PathgenConfig } from './config/schema.js';

/**
 * A model reference read as slides are: a folder on this machine (an absolute or ./ path, a
 * file:// URI, or a relative path that exists), else a prefix in the object store (an s3:// URI of
 * the configured store or a key), downloaded once into the slide cache folder.
 */
export function clipModelSource(reference: string, store: ObjectStore, cacheDir: string): ClipModelSource {
  const location = parseSlideReference(reference.replace(/\/+$/, ''), store);
  if (location.kind === 'local') return location.path;
  return { store, prefix: location.key, cacheDir: path.join(cacheDir, 'models') };
}

/**
 * One loaded model per reference for the life of the process: every select activity on this
 * worker shares its sessions, with the execution providers and threads this machine's config sets.
 */
export function clipModelLoader(
  config: Pick<PathgenConfig, 'select' | 'slideCache'>,
  store: ObjectStore,
  onWarning: (message: string) => void,
): (reference: string, signal?: AbortSignal) => Promise<ClipModel> {
  const loaded = new Map<string, Promise<ClipModel>>();
  return (reference, signal) => {
    let model = loaded.get(reference);
    if (!model) {
      model = loadClipModel(clipModelSource(reference, store, path.resolve(config.slideCache.dir)), {
        executionProviders: config.select.executionProviders,
        ...(config.select.intraOpThreads > 0 ? { intraOpNumThreads: config.select.intraOpThreads } : {}),
        batchSize: config.select.batchSize,
        onWarning,
        ...(signal ? { signal } : {}),
      });
      loaded.set(reference, model);
      model.catch(() => loaded.delete(reference));
    }
    return model;
  };
}
