import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { ClipModel } from '../clip/clip-model.js';
import { embedInBatches } from '../clip/embedding-pipeline.js';
import { featureKeys } from '../contracts/keys.js';
import { preprocessBatch } from '../clip/preprocess.js';
import { getIfExists } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { openSlide } from '../wsi/open-slide.js';
import { readPatches } from '../wsi/patch-reading.js';
import { planSlide } from '../wsi/tissue-patch-plan.js';
import type { PlanOptions } from '../wsi/tissue-patch-plan.js';

// A slide as a bag of frozen patch features for ABMIL: the tile stage's tissue grid (the same
// planner, tissue detector and patch reader the pipeline uses), every candidate through the image
// encoder. Cached in the store per (model, slide file identity, tiling): re-evaluation and every
// other slide task on the same cohort reuse the bag.

export interface SlideFeatureOptions {
  store: ObjectStore;
  model: ClipModel;
  modelKey: string;
  tiling: PlanOptions;
  batchSize: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface SlideBag {
  features: Float32Array;
  count: number;
  dim: number;
  cached: boolean;
}

/** Slide identity without reading gigabytes: path, size and modification time, plus the tiling. */
export async function slideBagKey(file: string, modelKey: string, tiling: PlanOptions): Promise<string> {
  const info = await stat(file);
  const identity = createHash('sha256')
    .update(JSON.stringify({ file, size: info.size, mtime: info.mtimeMs, tiling }))
    .digest('hex');
  return featureKeys.slide(modelKey, identity);
}

export async function slideBag(file: string, options: SlideFeatureOptions): Promise<SlideBag> {
  const dim = options.model.config.embedDim;
  const key = await slideBagKey(file, options.modelKey, options.tiling);
  const known = await getIfExists(options.store, key);
  if (known && known.byteLength % (dim * 4) === 0 && known.byteLength > 0) {
    const features = new Float32Array(known.buffer.slice(known.byteOffset, known.byteOffset + known.byteLength));
    return { features, count: features.length / dim, dim, cached: true };
  }
  const reader = await openSlide(file);
  try {
    const plan = await planSlide(reader, options.tiling);
    const candidates = plan.grid.candidates;
    const features = new Float32Array(candidates.length * dim);
    let done = 0;
    await embedInBatches(readPatches(reader, candidates, options.signal ? { signal: options.signal } : {}), {
      batchSize: options.batchSize,
      prepare: (batch) =>
        preprocessBatch(
          batch.map((patch) => patch.image),
          options.model.config.preprocess,
        ),
      run: (pixels, count) => options.model.embedImages(pixels, count),
      onBatch: (_index, rows) => {
        features.set(rows, done * dim);
        done += rows.length / dim;
        options.onProgress?.(done, candidates.length);
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await options.store.put(key, new Uint8Array(features.buffer), { contentType: 'application/octet-stream' });
    return { features, count: candidates.length, dim, cached: false };
  } finally {
    await reader.close();
  }
}
