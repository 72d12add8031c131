import path from 'node:path';
import { PathgenError, errorMessage, isPathgenError } from '../activities/common/errors.js';
import { cudaOnlyRefusal, cudaUnavailableReason } from '../activities/clip/cuda-provider.js';
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

export type ClipModelLoader = ((reference: string, signal?: AbortSignal) => Promise<ClipModel>) & {
  /** `reference on provider` for every model this process has loaded: what doctor and the start-up line show. */
  sessions(): string[];
};

/**
 * One loaded model per reference for the life of the process: every select activity on this
 * worker shares its sessions, with the execution providers and threads this machine's config sets.
 */
export function clipModelLoader(
  config: Pick<PathgenConfig, 'select' | 'slideCache'>,
  store: ObjectStore,
  onWarning: (message: string) => void,
): ClipModelLoader {
  const loaded = new Map<string, Promise<ClipModel>>();
  const providers = new Map<string, string>();
  const load = (reference: string, signal?: AbortSignal) => {
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
      model.then(
        (ready) => providers.set(reference, ready.executionProvider),
        () => loaded.delete(reference),
      );
    }
    return model;
  };
  return Object.assign(load, { sessions: () => [...providers].map(([reference, on]) => `${reference} on ${on}`) });
}

/**
 * What a GPU worker checks before it polls: the configured model's sessions open (so the line it
 * prints says where CLIP runs), and a GPU-only provider list that cannot have its GPU fails the
 * worker now. Any other trouble with the model is left to the select activities, which report it
 * per slide as before.
 */
export async function openClipAtStart(
  config: Pick<PathgenConfig, 'select'>,
  load: (reference: string, signal: AbortSignal) => Promise<ClipModel>,
  warn: (message: string) => void,
): Promise<string> {
  const { model, executionProviders } = config.select;
  if (model === undefined) {
    const cudaOnly = !executionProviders.includes('cpu');
    const missing = cudaOnly ? cudaUnavailableReason() : undefined;
    if (missing) {
      throw new PathgenError('ProviderUnavailable', cudaOnlyRefusal(missing, executionProviders), {
        executionProviders,
      });
    }
    return 'CLIP: no model configured (model-free selection)';
  }
  try {
    const opened = await load(model, new AbortController().signal);
    return `CLIP ${model}: image and text sessions on ${opened.executionProvider}`;
  } catch (error) {
    if (isPathgenError(error) && error.code === 'ProviderUnavailable') throw error;
    warn(`CLIP model ${model} did not open at start (${errorMessage(error)}); the select activities will try again`);
    return `CLIP ${model}: not open (${errorMessage(error)})`;
  }
}
