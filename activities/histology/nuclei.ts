// Nucleus candidates from the hematoxylin channel: a 3×3 box mean (so chromatin texture does not
// break a nucleus into specks), a fixed OD threshold inside tissue, 8-connected components, a
// minimum area, and clumps of touching nuclei counted by area. This is a census for cellularity and
// nuclear size, not a segmentation to draw.
import { componentShapes, labelComponents } from './connected-components.js';
import { measurementSettings } from './measurement-settings.js';

export interface NucleiMeasurement {
  /** Nuclei counted: one per single component, area / median (at least 2) for clumps. */
  count: number;
  /** Mean and coefficient of variation of the area of the single (non-clump) components, in pixels. */
  meanAreaPx: number;
  areaCv: number;
}

/** Minimum nucleus area in pixels: from µm² when the microns per pixel are known, else the pixel fallback. */
export function minimumNucleusAreaPx(mpp: number | undefined): number {
  const { minAreaUm2, minAreaPx } = measurementSettings.nuclei;
  return mpp !== undefined ? minAreaUm2 / (mpp * mpp) : minAreaPx;
}

/**
 * `hematoxylin` holds the hematoxylin OD of every pixel (0 outside tissue); `tissue` is 1 on tissue
 * pixels. Both are width × height, row-major.
 */
export function measureNuclei(
  hematoxylin: Float32Array,
  tissue: Uint8Array,
  width: number,
  height: number,
  mpp: number | undefined,
): NucleiMeasurement {
  const n = width * height;
  const { hematoxylinThreshold, clumpAreaFactor, clumpMinElongation, clumpMaxEllipseFill } = measurementSettings.nuclei;
  const smoothed = boxMean3(hematoxylin, width, height);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = tissue[i] === 1 && smoothed[i]! >= hematoxylinThreshold ? 1 : 0;

  const labels = new Int32Array(n);
  const components = labelComponents(mask, width, height, 8, labels, new Int32Array(n));
  const shapes = componentShapes(labels, components, width, height);
  const minArea = minimumNucleusAreaPx(mpp);
  const kept: number[] = [];
  for (let label = 1; label <= components; label++) if (shapes.area[label]! >= minArea) kept.push(label);
  if (kept.length === 0) return { count: 0, meanAreaPx: 0, areaCv: 0 };

  const sorted = Float64Array.from(kept, (label) => shapes.area[label]!).sort();
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  let count = 0;
  let singles = 0;
  let sum = 0;
  let sumSquares = 0;
  for (const label of kept) {
    const area = shapes.area[label]!;
    const clump =
      area > clumpAreaFactor * median &&
      (shapes.elongation[label]! >= clumpMinElongation || shapes.ellipseFill[label]! < clumpMaxEllipseFill);
    if (clump) {
      count += Math.max(2, Math.round(area / median));
    } else {
      count++;
      singles++;
      sum += area;
      sumSquares += area * area;
    }
  }
  const mean = sum / singles;
  const variance = Math.max(0, sumSquares / singles - mean * mean);
  return { count, meanAreaPx: mean, areaCv: mean > 0 ? Math.sqrt(variance) / mean : 0 };
}

/** 3×3 box mean, separable, edges replicated. */
function boxMean3(values: Float32Array, width: number, height: number): Float32Array {
  const rows = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const left = values[row + (x > 0 ? x - 1 : x)]!;
      const right = values[row + (x < width - 1 ? x + 1 : x)]!;
      rows[row + x] = left + values[row + x]! + right;
    }
  }
  const out = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    const above = (y > 0 ? y - 1 : y) * width;
    const here = y * width;
    const below = (y < height - 1 ? y + 1 : y) * width;
    for (let x = 0; x < width; x++) out[here + x] = (rows[above + x]! + rows[here + x]! + rows[below + x]!) / 9;
  }
  return out;
}
