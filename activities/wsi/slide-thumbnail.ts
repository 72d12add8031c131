import type { RgbImage, SlideReader } from './slide-reader.js';

// A low-resolution view of the whole slide, in which one pixel covers exactly `downsample` level-0
// pixels each way (the last column and row may cover less). It is built from the pyramid level
// nearest in scale: box-averaged down from a finer level, band by band so a large level never sits
// in memory whole, or sampled up from a coarser one (which is smaller than the thumbnail).

export interface SlideThumbnail extends RgbImage {
  /** Level-0 pixels per thumbnail pixel, in x and in y. */
  scaleX: number;
  scaleY: number;
  /** The pyramid level it was read from. */
  level: number;
}

const bandBytes = 48 * 1024 * 1024;

export function nearestLevel(reader: SlideReader, downsample: number): number {
  let best = 0;
  let bestDistance = Infinity;
  reader.levels.forEach((level, index) => {
    const distance = Math.abs(Math.log(level.downsample / downsample));
    // On a tie prefer the finer level: more resolution for the same distance.
    if (distance < bestDistance - 1e-9) {
      best = index;
      bestDistance = distance;
    }
  });
  return best;
}

export async function readSlideThumbnail(reader: SlideReader, downsample = 32): Promise<SlideThumbnail> {
  const level0 = reader.levels[0]!;
  const width = Math.max(1, Math.ceil(level0.width / downsample));
  const height = Math.max(1, Math.ceil(level0.height / downsample));
  const levelIndex = nearestLevel(reader, downsample);
  const level = reader.levels[levelIndex]!;
  // Thumbnail pixels per level pixel.
  const ratio = level.downsample / downsample;
  const data =
    ratio > 1 + 1e-9
      ? await sampleUp(reader, levelIndex, width, height, ratio)
      : await boxDown(reader, levelIndex, width, height, ratio);
  return { data, width, height, scaleX: downsample, scaleY: downsample, level: levelIndex };
}

/** Level rows `top` on, as level-0 y for `read`, which maps it back to exactly `top`. */
function levelY(reader: SlideReader, levelIndex: number, top: number): number {
  return levelIndex === 0 ? top : Math.round(top * reader.levels[levelIndex]!.downsample);
}

/** Averages every level pixel into the thumbnail pixel its centre falls in, one thumbnail row at a time. */
async function boxDown(
  reader: SlideReader,
  levelIndex: number,
  width: number,
  height: number,
  ratio: number,
): Promise<Buffer> {
  const level = reader.levels[levelIndex]!;
  const data = Buffer.alloc(width * height * 3, 255);
  const columnBins = new Int32Array(level.width);
  for (let a = 0; a < level.width; a++) columnBins[a] = Math.min(width - 1, Math.floor((a + 0.5) * ratio));
  const sums = new Float64Array(width * 3);
  const counts = new Uint32Array(width);
  const done = new Uint8Array(height);
  let row = -1;
  const finish = () => {
    if (row < 0) return;
    for (let u = 0; u < width; u++) {
      // A last column no level pixel centre fell in takes its neighbour's value.
      const source = counts[u] ? u : Math.max(0, u - 1);
      for (let c = 0; c < 3; c++)
        data[(row * width + u) * 3 + c] = Math.round(sums[source * 3 + c]! / (counts[source] || 1));
    }
    done[row] = 1;
    sums.fill(0);
    counts.fill(0);
  };
  const bandRows = Math.max(1, Math.floor(bandBytes / (level.width * 3)));
  for (let top = 0; top < level.height; top += bandRows) {
    const rows = Math.min(bandRows, level.height - top);
    const band = await reader.read(levelIndex, 0, levelY(reader, levelIndex, top), level.width, rows);
    for (let r = 0; r < rows; r++) {
      const v = Math.min(height - 1, Math.floor((top + r + 0.5) * ratio));
      if (v !== row) {
        finish();
        row = v;
      }
      const base = r * level.width * 3;
      for (let a = 0; a < level.width; a++) {
        const u = columnBins[a]!;
        sums[u * 3] = sums[u * 3]! + band.data[base + a * 3]!;
        sums[u * 3 + 1] = sums[u * 3 + 1]! + band.data[base + a * 3 + 1]!;
        sums[u * 3 + 2] = sums[u * 3 + 2]! + band.data[base + a * 3 + 2]!;
        counts[u]!++;
      }
    }
  }
  finish();
  for (let v = 1; v < height; v++) if (!done[v]) data.copy(data, v * width * 3, (v - 1) * width * 3, v * width * 3);
  return data;
}

/** Takes, for each thumbnail pixel, the coarser level's pixel under its centre. */
async function sampleUp(
  reader: SlideReader,
  levelIndex: number,
  width: number,
  height: number,
  ratio: number,
): Promise<Buffer> {
  const level = reader.levels[levelIndex]!;
  const source = await reader.read(levelIndex, 0, 0, level.width, level.height);
  const data = Buffer.alloc(width * height * 3);
  for (let v = 0; v < height; v++) {
    const b = Math.min(level.height - 1, Math.floor((v + 0.5) / ratio));
    for (let u = 0; u < width; u++) {
      const a = Math.min(level.width - 1, Math.floor((u + 0.5) / ratio));
      source.data.copy(data, (v * width + u) * 3, (b * level.width + a) * 3, (b * level.width + a) * 3 + 3);
    }
  }
  return data;
}
