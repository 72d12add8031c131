import {
  measurePatch,
  measurementFeatureNames,
  measurementFeatures,
  separateStains,
  tissueQuality,
} from '../histology/index.js';
import type { RgbImage } from '../wsi/slide-reader.js';

// Image features without a CLIP model (the embedded default): the histology measurements (stain
// densities, nuclei, white space, texture) plus where the stains sit in the patch, so that two
// patches with the same composition but a different layout are not taken for duplicates.

/** Cells per side of the stain-layout grid. */
const grid = 4;
/** Every `stride`-th pixel in each direction feeds the layout grid: a mean needs no more. */
const stride = 2;

export interface ModelFreeFeatures {
  /** Measurement features, then hematoxylin and eosin mean density per grid cell (row-major). */
  features: Float32Array;
  quality: number;
}

export const modelFreeFeatureLength = measurementFeatureNames.length + 2 * grid * grid;

export function modelFreeFeatures(image: RgbImage, mpp?: number): ModelFreeFeatures {
  const measurements = measurePatch(image, mpp !== undefined ? { mpp } : {});
  const measured = measurementFeatures(measurements);
  const features = new Float32Array(modelFreeFeatureLength);
  features.set(measured);
  features.set(stainLayout(image), measured.length);
  return { features, quality: tissueQuality(measurements) };
}

function stainLayout(image: RgbImage): Float32Array {
  const sums = new Float64Array(2 * grid * grid);
  const counts = new Float64Array(grid * grid);
  const { data, width, height } = image;
  for (let y = 0; y < height; y += stride) {
    const row = Math.min(grid - 1, Math.floor((y * grid) / height));
    for (let x = 0; x < width; x += stride) {
      const cell = row * grid + Math.min(grid - 1, Math.floor((x * grid) / width));
      const i = (y * width + x) * 3;
      const stains = separateStains(data[i]!, data[i + 1]!, data[i + 2]!);
      sums[cell * 2] = sums[cell * 2]! + Math.max(0, stains.hematoxylin);
      sums[cell * 2 + 1] = sums[cell * 2 + 1]! + Math.max(0, stains.eosin);
      counts[cell] = counts[cell]! + 1;
    }
  }
  const layout = new Float32Array(2 * grid * grid);
  for (let cell = 0; cell < grid * grid; cell++) {
    const n = counts[cell]! || 1;
    layout[cell * 2] = sums[cell * 2]! / n;
    layout[cell * 2 + 1] = sums[cell * 2 + 1]! / n;
  }
  return layout;
}

/**
 * Rows of raw features → L2-normalised embeddings comparable by cosine: each column is centred on
 * the slide's mean and scaled by its standard deviation first, so what counts is how a patch
 * differs from the rest of its slide, not the slide's overall stain.
 */
export function standardiseRows(features: Float32Array, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let c = 0; c < dim; c++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += features[r * dim + c]!;
    const mean = rows > 0 ? sum / rows : 0;
    let squares = 0;
    for (let r = 0; r < rows; r++) squares += (features[r * dim + c]! - mean) ** 2;
    const std = Math.sqrt(squares / Math.max(1, rows));
    for (let r = 0; r < rows; r++) out[r * dim + c] = std > 1e-9 ? (features[r * dim + c]! - mean) / std : 0;
  }
  return normaliseRows(out, rows, dim);
}

/**
 * Rows scaled to unit length in place. An all-zero row (a patch exactly like the slide's mean, or
 * the only patch of a slide) becomes the first axis, so that such patches count as alike.
 */
export function normaliseRows(values: Float32Array, rows: number, dim: number): Float32Array {
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let c = 0; c < dim; c++) norm += values[r * dim + c]! ** 2;
    norm = Math.sqrt(norm);
    if (norm > 1e-12) for (let c = 0; c < dim; c++) values[r * dim + c] = values[r * dim + c]! / norm;
    else if (dim > 0) values[r * dim] = 1;
  }
  return values;
}
