import sharp from 'sharp';
import type { PatchGrid } from './patch-grid.js';
import type { SlideThumbnail } from './slide-thumbnail.js';
import type { TissueMask } from './tissue-mask.js';

// A picture for people checking a run: the slide thumbnail with the tissue mask tinted green, its
// outline drawn, and every kept candidate cell outlined in blue.

const tint: readonly number[] = [40, 200, 90];
const outline: readonly number[] = [0, 120, 40];
const cellColour: readonly number[] = [20, 60, 230];

export async function renderOverlay(thumbnail: SlideThumbnail, mask: TissueMask, grid: PatchGrid): Promise<Buffer> {
  const { width, height } = thumbnail;
  const data = Buffer.from(thumbnail.data);
  const maskAt = (u: number, v: number): number => {
    const mu = Math.min(mask.width - 1, Math.floor((u * thumbnail.scaleX) / mask.scaleX));
    const mv = Math.min(mask.height - 1, Math.floor((v * thumbnail.scaleY) / mask.scaleY));
    return mask.data[mv * mask.width + mu] ?? 0;
  };
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      if (!maskAt(u, v)) continue;
      const at = (v * width + u) * 3;
      const edge =
        u === 0 ||
        v === 0 ||
        u === width - 1 ||
        v === height - 1 ||
        !maskAt(u - 1, v) ||
        !maskAt(u + 1, v) ||
        !maskAt(u, v - 1) ||
        !maskAt(u, v + 1);
      for (let c = 0; c < 3; c++) data[at + c] = edge ? outline[c]! : Math.round(data[at + c]! * 0.7 + tint[c]! * 0.3);
    }
  }
  const paint = (u: number, v: number): void => {
    if (u < 0 || v < 0 || u >= width || v >= height) return;
    const at = (v * width + u) * 3;
    for (let c = 0; c < 3; c++) data[at + c] = cellColour[c]!;
  };
  for (const candidate of grid.candidates) {
    const left = Math.round(candidate.x / thumbnail.scaleX);
    const top = Math.round(candidate.y / thumbnail.scaleY);
    const right = Math.round((candidate.x + grid.cellWidth) / thumbnail.scaleX) - 1;
    const bottom = Math.round((candidate.y + grid.cellHeight) / thumbnail.scaleY) - 1;
    for (let u = left; u <= right; u++) {
      paint(u, top);
      paint(u, bottom);
    }
    for (let v = top; v <= bottom; v++) {
      paint(left, v);
      paint(right, v);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}
