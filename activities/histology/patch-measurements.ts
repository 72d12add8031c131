// Model-free measurements of one H&E patch: how much is tissue, white space, fat and lumina; how much
// hematoxylin and eosin the tissue holds (Ruifrok–Johnston deconvolution); a census of nuclei; and
// how much edge texture there is. Every threshold lives in measurement-settings.ts. A 672×672 patch
// takes a few passes over typed arrays and no allocation per pixel.
import { PathgenError } from '../common/errors.js';
import type { RgbImage } from '../wsi/slide-reader.js';
import { measurementSettings } from './measurement-settings.js';
import { measureNuclei } from './nuclei.js';
import { opticalDensityTable, stainUnmixing } from './stain-deconvolution.js';
import { measureWhiteSpace } from './white-space.js';

export { measurementsVersion } from './measurement-settings.js';

export interface PatchMeasurements {
  widthPx: number;
  heightPx: number;
  /** µm per pixel, when known. */
  mpp?: number;
  /** Fraction of the patch that is stained tissue: neither white nor a dark artefact. */
  tissueFraction: number;
  /** Fraction of bright, unstained pixels (glass, fat, lumina, specks). */
  whiteFraction: number;
  /** Fraction of the patch in large, rounded white regions (adipocyte-like). */
  fatFraction: number;
  /** Fraction of the patch in white regions enclosed by tissue that are not fat (lumina, vessels). */
  lumenFraction: number;
  /** Optical density over tissue pixels (negative densities count as 0). */
  hematoxylin: { mean: number; p90: number };
  eosin: { mean: number; p90: number };
  /** Fraction of tissue pixels whose eosin OD clearly exceeds their hematoxylin OD. */
  eosinDominantFraction: number;
  /**
   * perMm2: nuclei per mm² of tissue section (stained tissue + fat + lumina; glass excluded), when
   * mpp is known. Areas are of the single (non-clump) nuclei.
   */
  nuclei: { count: number; perMm2?: number; meanAreaPx: number; meanAreaUm2?: number; areaCv: number };
  /** Fraction of interior pixels whose Sobel gradient magnitude exceeds the edge threshold. */
  edgeDensity: number;
}

/** Pixels as `RgbImage` holds them; any packed RGB byte array will do. */
export interface PatchPixels {
  data: Uint8Array;
  width: number;
  height: number;
}

export function measurePatch(image: PatchPixels | RgbImage, options: { mpp?: number } = {}): PatchMeasurements {
  const { width, height, data } = image;
  const { mpp } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new PathgenError('InvalidInput', `a patch needs a positive integer size, got ${width}×${height}`, {
      width,
      height,
    });
  if (data.length < width * height * 3)
    throw new PathgenError('InvalidInput', `a ${width}×${height} RGB patch needs ${width * height * 3} bytes`, {
      width,
      height,
      bytes: data.length,
    });
  if (mpp !== undefined && !(Number.isFinite(mpp) && mpp > 0))
    throw new PathgenError('InvalidInput', `microns per pixel must be a positive number, got ${mpp}`, { mpp });

  const n = width * height;
  const { white: whiteRule, darkMaxChannel, eosinDominanceMargin, histogram } = measurementSettings;
  const binsPerOd = histogram.bins / histogram.maxOd;
  const lastBin = histogram.bins - 1;
  const od = opticalDensityTable;
  const hR = stainUnmixing[0]!;
  const eR = stainUnmixing[1]!;
  const hG = stainUnmixing[3]!;
  const eG = stainUnmixing[4]!;
  const hB = stainUnmixing[6]!;
  const eB = stainUnmixing[7]!;

  const tissue = new Uint8Array(n);
  const white = new Uint8Array(n);
  const hematoxylin = new Float32Array(n);
  const grey = new Uint16Array(n);
  const hHistogram = new Uint32Array(histogram.bins);
  const eHistogram = new Uint32Array(histogram.bins);
  let tissuePx = 0;
  let hSum = 0;
  let eSum = 0;
  let eosinDominant = 0;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const r = data[j]!;
    const g = data[j + 1]!;
    const b = data[j + 2]!;
    grey[i] = r + g + b;
    const max = r > g ? (r > b ? r : b) : g > b ? g : b;
    const min = r < g ? (r < b ? r : b) : g < b ? g : b;
    if (min >= whiteRule.minChannel && max - min <= whiteRule.maxChroma) {
      white[i] = 1;
      continue;
    }
    if (max < darkMaxChannel) continue;
    const odR = od[r]!;
    const odG = od[g]!;
    const odB = od[b]!;
    const h = Math.max(0, odR * hR + odG * hG + odB * hB);
    const e = Math.max(0, odR * eR + odG * eG + odB * eB);
    tissue[i] = 1;
    tissuePx++;
    hematoxylin[i] = h;
    hSum += h;
    eSum += e;
    if (e - h >= eosinDominanceMargin) eosinDominant++;
    hHistogram[Math.min(lastBin, Math.floor(h * binsPerOd))]!++;
    eHistogram[Math.min(lastBin, Math.floor(e * binsPerOd))]!++;
  }

  const space = measureWhiteSpace(white, width, height, mpp);
  const nuclei = measureNuclei(hematoxylin, tissue, width, height, mpp);
  const sectionPx = tissuePx + space.fatPx + space.lumenPx;
  const perPixel = (value: number): number => value / n;
  const overTissue = (value: number): number => (tissuePx > 0 ? value / tissuePx : 0);
  const percentile90 = (counts: Uint32Array): number => (tissuePx > 0 ? percentileBin(counts, 0.9) / binsPerOd : 0);

  return {
    widthPx: width,
    heightPx: height,
    ...(mpp !== undefined ? { mpp } : {}),
    tissueFraction: perPixel(tissuePx),
    whiteFraction: perPixel(space.whitePx),
    fatFraction: perPixel(space.fatPx),
    lumenFraction: perPixel(space.lumenPx),
    hematoxylin: { mean: overTissue(hSum), p90: percentile90(hHistogram) },
    eosin: { mean: overTissue(eSum), p90: percentile90(eHistogram) },
    eosinDominantFraction: overTissue(eosinDominant),
    nuclei: {
      count: nuclei.count,
      ...(mpp !== undefined
        ? {
            perMm2: sectionPx > 0 ? nuclei.count / (sectionPx * mpp * mpp * 1e-6) : 0,
            meanAreaUm2: nuclei.meanAreaPx * mpp * mpp,
          }
        : {}),
      meanAreaPx: nuclei.meanAreaPx,
      areaCv: nuclei.areaCv,
    },
    edgeDensity: edgeDensity(grey, width, height),
  };
}

/** The lowest bin whose cumulative count reaches `quantile` of the total (the bin's lower edge). */
function percentileBin(counts: Uint32Array, quantile: number): number {
  let total = 0;
  for (const count of counts) total += count;
  const target = quantile * total;
  let cumulative = 0;
  for (let bin = 0; bin < counts.length; bin++) {
    cumulative += counts[bin]!;
    if (cumulative >= target) return bin;
  }
  return counts.length - 1;
}

/**
 * Sobel on the channel sum (3 × the channel mean, so the threshold is scaled by 3), over interior
 * pixels; patches narrower than 3 pixels have no interior and no edges.
 */
function edgeDensity(sum: Uint16Array, width: number, height: number): number {
  if (width < 3 || height < 3) return 0;
  const limit = (3 * measurementSettings.sobelThreshold) ** 2;
  let edges = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1, i = y * width + 1; x < width - 1; x++, i++) {
      const a = sum[i - width - 1]!;
      const b = sum[i - width]!;
      const c = sum[i - width + 1]!;
      const d = sum[i - 1]!;
      const f = sum[i + 1]!;
      const g = sum[i + width - 1]!;
      const h = sum[i + width]!;
      const k = sum[i + width + 1]!;
      const gx = c + 2 * f + k - (a + 2 * d + g);
      const gy = g + 2 * h + k - (a + 2 * b + c);
      if (gx * gx + gy * gy > limit) edges++;
    }
  }
  return edges / ((width - 2) * (height - 2));
}
