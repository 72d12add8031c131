import type { SlideReader } from './slide-reader.js';
import type { SlideThumbnail } from './slide-thumbnail.js';

// Where the tissue is, as a binary mask over a low-resolution view of the slide. Detectors sit
// behind one small interface so a learned segmenter can replace the thresholding one later.

export interface TissueMask {
  width: number;
  height: number;
  /** 1 = tissue, 0 = background, row-major. */
  data: Uint8Array;
  /** Level-0 pixels per mask pixel, in x and in y. */
  scaleX: number;
  scaleY: number;
  /** Fraction of mask pixels that are tissue. */
  tissueFraction: number;
  /** Which detector made it, and what it decided (threshold...), for the record. */
  detector: string;
  details: Record<string, number>;
}

export interface TissueDetector {
  readonly name: string;
  detect(reader: SlideReader, options?: TissueDetectionOptions): Promise<TissueMask>;
}

export interface TissueDetectionOptions {
  /** Level-0 pixels per mask pixel (default 32, as PathGen). */
  downsample?: number;
  /** A thumbnail already read at `downsample`, to avoid reading it twice. */
  thumbnail?: SlideThumbnail;
}

/**
 * Fraction of a level-0 rectangle covered by tissue, weighting each mask pixel by how much of it
 * lies in the rectangle, so grids whose stride is not a whole number of mask pixels stay exact.
 */
export function maskCoverage(mask: TissueMask, x: number, y: number, width: number, height: number): number {
  const u0 = Math.max(0, Math.floor(x / mask.scaleX));
  const u1 = Math.min(mask.width, Math.ceil((x + width) / mask.scaleX));
  const v0 = Math.max(0, Math.floor(y / mask.scaleY));
  const v1 = Math.min(mask.height, Math.ceil((y + height) / mask.scaleY));
  let covered = 0;
  for (let v = v0; v < v1; v++) {
    const wy = Math.min(y + height, (v + 1) * mask.scaleY) - Math.max(y, v * mask.scaleY);
    if (wy <= 0) continue;
    let rowCovered = 0;
    for (let u = u0; u < u1; u++) {
      if (mask.data[v * mask.width + u] === 0) continue;
      const wx = Math.min(x + width, (u + 1) * mask.scaleX) - Math.max(x, u * mask.scaleX);
      if (wx > 0) rowCovered += wx;
    }
    covered += rowCovered * wy;
  }
  return covered / (width * height);
}
