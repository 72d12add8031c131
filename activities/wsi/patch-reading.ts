import sharp from 'sharp';
import type { PatchCandidate } from './patch-grid.js';
import { slideUnreadable } from './slide-errors.js';
import type { RgbImage, SlideReader } from './slide-reader.js';

// Reading candidates' pixels in order, from any index, a few reads ahead so decoding overlaps with
// whatever the caller does with each patch (encode, upload, heartbeat). The index is the resume
// cursor: a caller that recorded "next = i" restarts with `startIndex: i` and repeats nothing.

export interface Patch {
  index: number;
  candidate: PatchCandidate;
  image: RgbImage;
}

export interface PatchIterationOptions {
  startIndex?: number;
  /** Patches read ahead of the one being handed out (default 4). */
  readAhead?: number;
  signal?: AbortSignal;
  /**
   * Read candidates with their JPEG tiles decoded at 1/n (see readCandidateScaled): for consumers
   * that resize anyway (CLIP preprocessing). Default 1, the exact pixels.
   */
  scaleDenom?: number;
}

/**
 * The exact pixels of a candidate (scaled to its output size in target-mpp mode). A candidate lies
 * inside the slide, so pixels without image data mean missing tiles: an error, never white filler.
 */
export async function readCandidate(reader: SlideReader, candidate: PatchCandidate): Promise<RgbImage> {
  const region = await reader.read(candidate.level, candidate.x, candidate.y, candidate.width, candidate.height);
  if (region.outsidePixels > 0) {
    throw slideUnreadable(
      reader.path,
      `patch at ${candidate.x},${candidate.y} has ${region.outsidePixels} pixels without image data (missing tiles)`,
      {
        x: candidate.x,
        y: candidate.y,
        level: candidate.level,
      },
    );
  }
  const outputWidth = candidate.outputWidth ?? candidate.width;
  const outputHeight = candidate.outputHeight ?? candidate.height;
  if (outputWidth === candidate.width && outputHeight === candidate.height)
    return { data: region.data, width: region.width, height: region.height };
  const { data, info } = await sharp(region.data, { raw: { width: region.width, height: region.height, channels: 3 } })
    .resize(outputWidth, outputHeight, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * A candidate for a consumer that resizes it anyway: at 1/`scaleDenom` of its size, decoded so in
 * libjpeg's DCT domain, where the reader offers that for the candidate's level and the candidate
 * is read at its own size (no target-mpp resize); else its exact pixels, at full size, read as
 * readCandidate does. Either way the result is all image data, never white filler.
 */
export async function readCandidateScaled(
  reader: SlideReader,
  candidate: PatchCandidate,
  scaleDenom: number,
): Promise<RgbImage> {
  const resized =
    (candidate.outputWidth ?? candidate.width) !== candidate.width ||
    (candidate.outputHeight ?? candidate.height) !== candidate.height;
  const region =
    scaleDenom === 1 || resized
      ? undefined
      : await reader.readScaled?.(
          candidate.level,
          candidate.x,
          candidate.y,
          candidate.width,
          candidate.height,
          scaleDenom,
        );
  if (!region) return readCandidate(reader, candidate);
  if (region.outsidePixels > 0) {
    throw slideUnreadable(
      reader.path,
      `patch at ${candidate.x},${candidate.y} has ${region.outsidePixels} pixels without image data (missing tiles)`,
      { x: candidate.x, y: candidate.y, level: candidate.level },
    );
  }
  return { data: region.data, width: region.width, height: region.height };
}

export async function encodePatchPng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: 4 })
    .toBuffer();
}

/** Runs `produce` for indices from `start`, at most `window` at once, and yields results in order. */
async function* inOrder<T>(
  start: number,
  end: number,
  window: number,
  produce: (index: number) => Promise<T>,
  signal?: AbortSignal,
): AsyncGenerator<T> {
  const pending: Promise<T>[] = [];
  let next = start;
  const fill = () => {
    while (next < end && pending.length < window) {
      const promise = produce(next++);
      promise.catch(() => undefined); // awaited below in order; this only keeps Node from calling it unhandled
      pending.push(promise);
    }
  };
  try {
    fill();
    while (pending.length > 0) {
      signal?.throwIfAborted();
      const value = await pending.shift()!;
      fill();
      yield value;
    }
  } finally {
    pending.length = 0;
  }
}

export function readPatches(
  reader: SlideReader,
  candidates: readonly PatchCandidate[],
  options: PatchIterationOptions = {},
): AsyncGenerator<Patch> {
  const start = options.startIndex ?? 0;
  return inOrder(
    start,
    candidates.length,
    Math.max(1, options.readAhead ?? 4),
    async (index) => ({
      index,
      candidate: candidates[index]!,
      image: await readCandidateScaled(reader, candidates[index]!, options.scaleDenom ?? 1),
    }),
    options.signal,
  );
}

export interface WritePatchesOptions extends PatchIterationOptions {
  /** Stores one encoded patch; called in index order, one at a time. */
  write: (patch: { index: number; candidate: PatchCandidate; png: Buffer }) => Promise<void>;
  /** After each write: how many of all candidates are done (start index included). */
  onProgress?: (done: number, total: number) => void;
}

/** Reads, encodes (lossless PNG) and hands over every patch from `startIndex` on. */
export async function writePatches(
  reader: SlideReader,
  candidates: readonly PatchCandidate[],
  options: WritePatchesOptions,
): Promise<{ written: number }> {
  const start = options.startIndex ?? 0;
  let written = 0;
  const encoded = inOrder(
    start,
    candidates.length,
    Math.max(1, options.readAhead ?? 4),
    async (index) => ({
      index,
      candidate: candidates[index]!,
      png: await encodePatchPng(await readCandidate(reader, candidates[index]!)),
    }),
    options.signal,
  );
  for await (const patch of encoded) {
    await options.write(patch);
    written++;
    options.onProgress?.(patch.index + 1, candidates.length);
  }
  return { written };
}
