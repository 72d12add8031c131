import type { SlideReader } from './slide-reader.js';
import { readSlideThumbnail } from './slide-thumbnail.js';
import type { TissueDetectionOptions, TissueDetector, TissueMask } from './tissue-mask.js';
import {
  binaryClose,
  binaryOpen,
  fillHoles,
  medianFilter,
  otsuThreshold,
  removeSmallRegions,
} from './tissue-morphology.js';

// Tissue as the stained part of the slide: Otsu's threshold on HSV saturation of a ~32× thumbnail
// (glass is white, stain is pink or purple), with a brightness guard because black borders, pen
// and dust are dark but not tissue and near-white glass noise can look saturated, and a hue guard
// for green and blue-green marker pen, colours no H&E stain has. Then clean-up:
// median smoothing, opening, closing, small regions removed, holes filled.

export interface OtsuTissueOptions {
  /** Pixels darker than this (HSV value, 0-255) are never tissue: borders, pen, dust. */
  minValue: number;
  /** Pixels whose every channel is above this are glass, whatever their saturation. */
  whiteLevel: number;
  /** Hues (degrees) no H&E stain has, green to cyan: marker pen. Null keeps every hue. */
  excludedHues: [number, number] | null;
  /** Floor of the saturation threshold (0-255), so a blank slide does not split its own noise. */
  minSaturation: number;
  /** Median filter radius on the saturation image, in mask pixels. */
  medianRadius: number;
  openRadius: number;
  closeRadius: number;
  /** Tissue regions smaller than this many level-0 pixels² are dropped (default a quarter of a 672² patch). */
  minRegionArea: number;
  fillHoles: boolean;
  /** Holes larger than this many level-0 pixels² stay holes (default: all holes are filled). */
  maxHoleArea: number;
}

export const defaultOtsuTissueOptions: OtsuTissueOptions = {
  minValue: 50,
  whiteLevel: 220,
  excludedHues: [70, 200],
  minSaturation: 20,
  medianRadius: 2,
  openRadius: 1,
  closeRadius: 2,
  minRegionArea: (672 * 672) / 4,
  fillHoles: true,
  maxHoleArea: Infinity,
};

export class OtsuTissueDetector implements TissueDetector {
  readonly name = 'otsu-saturation';
  private readonly options: OtsuTissueOptions;

  constructor(options: Partial<OtsuTissueOptions> = {}) {
    this.options = { ...defaultOtsuTissueOptions, ...options };
  }

  async detect(reader: SlideReader, detection: TissueDetectionOptions = {}): Promise<TissueMask> {
    const thumbnail = detection.thumbnail ?? (await readSlideThumbnail(reader, detection.downsample ?? 32));
    const { width, height, data } = thumbnail;
    const o = this.options;
    const pixels = width * height;
    const saturation = new Uint8Array(pixels);
    const eligible = new Uint8Array(pixels);
    for (let p = 0; p < pixels; p++) {
      const r = data[p * 3]!;
      const g = data[p * 3 + 1]!;
      const b = data[p * 3 + 2]!;
      const max = Math.max(r, g, b);
      const min = Math.min(r, g, b);
      saturation[p] = max === 0 ? 0 : Math.round(((max - min) * 255) / max);
      eligible[p] =
        max >= o.minValue && min <= o.whiteLevel && !(o.excludedHues && hueWithin(r, g, b, o.excludedHues)) ? 1 : 0;
    }
    const smooth = medianFilter(saturation, width, height, o.medianRadius);
    const histogram = new Uint32Array(256);
    for (let p = 0; p < pixels; p++) if (eligible[p]) histogram[smooth[p]!]!++;
    const threshold = Math.max(otsuThreshold(histogram), o.minSaturation);

    let mask: Uint8Array = new Uint8Array(pixels);
    for (let p = 0; p < pixels; p++) mask[p] = eligible[p] && smooth[p]! > threshold ? 1 : 0;
    mask = binaryOpen(mask, width, height, o.openRadius);
    mask = binaryClose(mask, width, height, o.closeRadius);
    const pixelArea = thumbnail.scaleX * thumbnail.scaleY;
    mask = removeSmallRegions(mask, width, height, Math.ceil(o.minRegionArea / pixelArea));
    if (o.fillHoles) mask = fillHoles(mask, width, height, o.maxHoleArea / pixelArea);

    let tissue = 0;
    for (let p = 0; p < pixels; p++) tissue += mask[p]!;
    return {
      width,
      height,
      data: mask,
      scaleX: thumbnail.scaleX,
      scaleY: thumbnail.scaleY,
      tissueFraction: tissue / pixels,
      detector: this.name,
      details: { saturationThreshold: threshold, thumbnailLevel: thumbnail.level },
    };
  }
}

function hueWithin(r: number, g: number, b: number, [from, to]: [number, number]): boolean {
  const max = Math.max(r, g, b);
  const chroma = max - Math.min(r, g, b);
  if (chroma === 0) return false;
  let hue = max === r ? ((g - b) / chroma) % 6 : max === g ? (b - r) / chroma + 2 : (r - g) / chroma + 4;
  hue *= 60;
  if (hue < 0) hue += 360;
  return hue >= from && hue <= to;
}
