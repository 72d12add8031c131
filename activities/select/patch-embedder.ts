import type { ClipModel } from '../clip/clip-model.js';
import { preprocessBatch } from '../clip/preprocess.js';
import type { RgbImage } from '../wsi/slide-reader.js';
import type { EmbeddedBatch } from './batch-checkpoint.js';
import { modelFreeFeatureLength, modelFreeFeatures } from './model-free-features.js';

// What turns a batch of patch pixels into one row per patch. The work is split in two so that the
// CPU part of the next batch (decode, preprocessing) overlaps the model run of the current one.

export interface PatchInBatch {
  image: RgbImage;
  /** µm per pixel of this patch, when the slide says. */
  mpp?: number;
  /** Tissue fraction of its grid cell, from the tile stage. */
  tissue: number;
}

export interface PatchEmbedder<Prepared = unknown> {
  readonly mode: 'clip' | 'model-free';
  readonly dim: number;
  /** Names what produced the rows (model name and version, or the measurement version). */
  readonly identity: string;
  prepare(patches: readonly PatchInBatch[]): Prepared;
  run(prepared: Prepared, count: number): Promise<EmbeddedBatch>;
}

export function clipPatchEmbedder(model: ClipModel): PatchEmbedder<{ pixels: Float32Array; quality: Float32Array }> {
  const { config } = model;
  return {
    mode: 'clip',
    dim: config.embedDim,
    identity: `clip:${config.name}@${config.version}`,
    prepare: (patches) => ({
      pixels: preprocessBatch(
        patches.map((patch) => patch.image),
        config.preprocess,
      ),
      quality: Float32Array.from(patches, (patch) => patch.tissue),
    }),
    run: async ({ pixels, quality }, count) => ({ embeddings: await model.embedImages(pixels, count), quality }),
  };
}

export function modelFreePatchEmbedder(version: string): PatchEmbedder<EmbeddedBatch> {
  return {
    mode: 'model-free',
    dim: modelFreeFeatureLength,
    identity: `model-free:${version}`,
    prepare: (patches) => {
      const embeddings = new Float32Array(patches.length * modelFreeFeatureLength);
      const quality = new Float32Array(patches.length);
      patches.forEach((patch, row) => {
        const measured = modelFreeFeatures(patch.image, patch.mpp);
        embeddings.set(measured.features, row * modelFreeFeatureLength);
        quality[row] = measured.quality;
      });
      return { embeddings, quality };
    },
    run: (prepared) => Promise.resolve(prepared),
  };
}
