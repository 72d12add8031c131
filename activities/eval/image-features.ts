import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { ClipModel } from '../clip/clip-model.js';
import { embedInBatches } from '../clip/embedding-pipeline.js';
import { preprocessBatch } from '../clip/preprocess.js';
import { PathgenError } from '../common/errors.js';
import { forEachBounded } from '../export/store-upload.js';
import type { ObjectStore } from '../store/object-store.js';
import type { RgbImage } from '../wsi/slide-reader.js';
import { featureKeys } from '../contracts/keys.js';
import { readCachedFeature, sha256Hex, writeCachedFeature } from './feature-cache.js';

// Image files → L2-normalised CLIP image features, one row per file in the order given, through
// the feature cache. Files are read, hashed and looked up a chunk at a time; only the misses are
// decoded, preprocessed (PIL-exact, as open_clip's transform) and run through the image encoder.

export interface ImageFeatureOptions {
  store: ObjectStore;
  model: ClipModel;
  modelKey: string;
  batchSize: number;
  /** Files read and looked up at once. */
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: { done: number; total: number; embedded: number; cached: number }) => void;
}

export interface ImageFeatures {
  features: Float32Array;
  dim: number;
  count: number;
  embedded: number;
  cached: number;
}

// Eval images are patches (224–2048 px); anything far larger is a mistake worth an error, not an OOM.
const maxImagePixels = 64 * 1024 * 1024;
const lookupConcurrency = 16;

export async function embedImageFiles(paths: readonly string[], options: ImageFeatureOptions): Promise<ImageFeatures> {
  const { model, store } = options;
  const dim = model.config.embedDim;
  const features = new Float32Array(paths.length * dim);
  const chunkSize = options.chunkSize ?? 512;
  let embedded = 0;
  let cached = 0;
  for (let start = 0; start < paths.length; start += chunkSize) {
    options.signal?.throwIfAborted();
    const chunk = paths.slice(start, start + chunkSize);
    const misses: { row: number; bytes: Buffer; key: string }[] = [];
    await forEachBounded(chunk.entries(), lookupConcurrency, async ([offset, file]) => {
      const bytes = await readFile(file).catch((error: unknown) => {
        throw new PathgenError('InvalidDataset', `cannot read image ${file}: ${(error as Error).message}`, { file });
      });
      const key = featureKeys.image(options.modelKey, sha256Hex(bytes));
      const hit = await readCachedFeature(store, key, dim);
      if (hit) {
        features.set(hit, (start + offset) * dim);
        cached += 1;
      } else {
        misses.push({ row: start + offset, bytes, key });
      }
    });
    misses.sort((a, b) => a.row - b.row);
    await embedInBatches(misses, {
      batchSize: options.batchSize,
      prepare: async (batch) =>
        preprocessBatch(
          await Promise.all(batch.map((miss) => decodeImage(miss.bytes, paths[miss.row]!))),
          model.config.preprocess,
        ),
      run: (pixels, count) => model.embedImages(pixels, count),
      onBatch: async (_index, rows, batch) => {
        await forEachBounded(batch.entries(), lookupConcurrency, async ([i, miss]) => {
          const row = rows.subarray(i * dim, (i + 1) * dim);
          features.set(row, miss.row * dim);
          await writeCachedFeature(store, miss.key, row);
        });
        embedded += batch.length;
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    options.onProgress?.({ done: Math.min(paths.length, start + chunkSize), total: paths.length, embedded, cached });
  }
  return { features, dim, count: paths.length, embedded, cached };
}

/** Any format sharp reads (JPEG, PNG, TIFF, BMP via libvips' loaders), as 8-bit sRGB. */
export async function decodeImage(bytes: Buffer, file: string): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxImagePixels })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data, width: info.width, height: info.height };
  } catch (error) {
    throw new PathgenError('InvalidDataset', `cannot decode image ${file}: ${(error as Error).message}`, { file });
  }
}
