import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadClipModel } from '../activities/clip/index.js';
import type { ClipModel, ClipModelSource } from '../activities/clip/index.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import type { PathgenConfig } from './config/schema.js';

/**
 * A model reference as config and run inputs give it: a folder on this machine when one exists
 * at that path, else a prefix in the object store (downloaded once into the slide cache folder).
 */
export function clipModelSource(reference: string, store: ObjectStore, cacheDir: string): ClipModelSource {
  if (existsSync(reference)) return path.resolve(reference);
  return { store, prefix: reference.replace(/\/+$/, ''), cacheDir: path.join(cacheDir, 'models') };
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
