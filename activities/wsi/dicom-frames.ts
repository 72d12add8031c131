import type { DicomInstance } from './dicom-instance.js';
import type { RandomAccessFile } from './random-access-file.js';
import { slideUnreadable, unsupportedFormat } from './slide-errors.js';
import { TileDecodeFailure, type RawTile, type TileDecoder } from './tile-decoding.js';

// Where each frame of an instance lies in its file. Encapsulated frames are located from the
// Extended Offset Table, else the Basic Offset Table, else by walking the item headers with small
// reads; a frame's span includes its item headers, which `encapsulatedFrames` strips at decode, so
// a frame split over several fragments (which an offset table allows) costs nothing extra.

export interface FrameSpans {
  /** Per frame (0-based), the byte where its first item header (or its native pixels) starts. */
  offsets: number[];
  byteCounts: number[];
}

const itemTag = 0xe000;
const delimiterTag = 0xe0dd;

export async function locateFrames(file: RandomAccessFile, instance: DicomInstance): Promise<FrameSpans> {
  const spans = instance.pixelData.length === undefined ? await encapsulated(file, instance) : native(instance);
  spans.offsets.forEach((offset, frame) => {
    const end = offset + spans.byteCounts[frame]!;
    if (end > file.size)
      throw slideUnreadable(
        file.path,
        `file is truncated: frame ${frame + 1} ends at byte ${end}, file has ${file.size}`,
        {
          frame: frame + 1,
        },
      );
  });
  return spans;
}

function native(instance: DicomInstance): FrameSpans {
  const { tileWidth, tileHeight, samplesPerPixel, bitsAllocated, frames, pixelData } = instance;
  const frameBytes = (tileWidth * tileHeight * samplesPerPixel * bitsAllocated) / 8;
  if ((pixelData.length ?? 0) < frameBytes * frames) {
    throw slideUnreadable(
      instance.path,
      `Pixel Data holds ${pixelData.length} bytes; ${frames} frames of ${tileWidth}×${tileHeight} need ${frameBytes * frames}`,
    );
  }
  const offsets = Array.from({ length: frames }, (_, frame) => pixelData.valueOffset + frame * frameBytes);
  return { offsets, byteCounts: offsets.map(() => frameBytes) };
}

async function encapsulated(file: RandomAccessFile, instance: DicomInstance): Promise<FrameSpans> {
  const headers = new ItemHeaders(file);
  const table = await headers.at(instance.pixelData.valueOffset, 'Basic Offset Table');
  if (table.tag !== itemTag) throw slideUnreadable(file.path, 'encapsulated Pixel Data does not start with an item');
  const first = instance.pixelData.valueOffset + 8 + table.length;
  const { frames, extendedOffsets, extendedLengths } = instance;
  let starts: number[] | undefined;
  if (extendedOffsets) {
    if (extendedOffsets.length !== frames)
      throw slideUnreadable(
        file.path,
        `Extended Offset Table lists ${extendedOffsets.length} frames, the instance has ${frames}`,
      );
    starts = extendedOffsets.map((offset) => first + offset);
  } else if (table.length > 0) {
    if (table.length !== frames * 4)
      throw slideUnreadable(
        file.path,
        `Basic Offset Table lists ${table.length / 4} frames, the instance has ${frames}`,
      );
    const values = await file.read(instance.pixelData.valueOffset + 8, table.length);
    starts = Array.from({ length: frames }, (_, frame) => first + values.readUInt32LE(frame * 4));
  }
  if (!starts) return walk(headers, first, frames, 1);
  for (let frame = 1; frame < frames; frame++) {
    if (starts[frame]! <= starts[frame - 1]!)
      throw slideUnreadable(file.path, `the offset table puts frame ${frame + 1} before frame ${frame}`);
  }
  const byteCounts = starts.map((start, frame) => (frame + 1 < frames ? starts[frame + 1]! - start : 0));
  if (extendedLengths?.length === frames) {
    // One fragment per frame where the Extended Offset Table is used (PS3.5 A.4): its header and value.
    extendedLengths.forEach((length, frame) => {
      if (frame + 1 < frames && 8 + length > byteCounts[frame]!)
        throw slideUnreadable(file.path, `frame ${frame + 1} is longer than the gap to frame ${frame + 2}`);
      byteCounts[frame] = 8 + length;
    });
  } else {
    const last = await walk(headers, starts[frames - 1]!, 1, frames);
    byteCounts[frames - 1] = last.byteCounts[0]!;
  }
  return { offsets: starts, byteCounts };
}

/**
 * Frames from the item headers alone: one fragment each (no table says otherwise), except that
 * the one frame of a single-frame instance may span every fragment.
 */
async function walk(headers: ItemHeaders, from: number, frames: number, firstFrame: number): Promise<FrameSpans> {
  const offsets: number[] = [];
  const byteCounts: number[] = [];
  let at = from;
  for (;;) {
    const what = frames === 1 ? `frame ${firstFrame}` : `frame ${firstFrame + offsets.length}`;
    const header = await headers.at(at, what);
    if (header.tag === delimiterTag) break;
    if (header.tag !== itemTag)
      throw slideUnreadable(headers.file.path, `the item header of ${what} at byte ${at} is damaged (not an item tag)`);
    offsets.push(at);
    byteCounts.push(8 + header.length);
    at += 8 + header.length;
    if (offsets.length > frames && frames > 1) {
      throw unsupportedFormat(
        headers.file.path,
        `Pixel Data has more fragments than its ${frames} frames and no offset table says where frames start`,
      );
    }
  }
  if (offsets.length === 0 || (frames > 1 && offsets.length < frames))
    throw slideUnreadable(headers.file.path, `Pixel Data ends after ${offsets.length} of ${frames} frames`);
  if (frames === 1) return { offsets: [from], byteCounts: [at - from] };
  return { offsets, byteCounts };
}

/** 8-byte item headers (tag, length), read through a 64 KiB window: small frames share a read. */
class ItemHeaders {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(readonly file: RandomAccessFile) {}

  async at(offset: number, what: string): Promise<{ tag: number; length: number }> {
    if (offset + 8 > this.file.size)
      throw slideUnreadable(
        this.file.path,
        `file is truncated: ${what} starts at byte ${offset}, file has ${this.file.size}`,
      );
    if (offset < this.windowStart || offset + 8 > this.windowStart + this.window.length) {
      this.windowStart = offset;
      this.window = await this.file.read(offset, Math.min(64 * 1024, this.file.size - offset));
    }
    const at = offset - this.windowStart;
    const group = this.window.readUInt16LE(at);
    const element = this.window.readUInt16LE(at + 2);
    return { tag: group === 0xfffe ? element : -1, length: this.window.readUInt32LE(at + 4) };
  }
}

/** A decoder of frame values, given spans that still carry their item headers. */
export function encapsulatedFrames(decoder: TileDecoder): TileDecoder {
  return {
    decode: async (tiles) => decoder.decode(tiles.map((tile) => ({ index: tile.index, bytes: fragmentValues(tile) }))),
  };
}

function fragmentValues(tile: RawTile): Buffer {
  const parts: Buffer[] = [];
  const bytes = tile.bytes;
  for (let at = 0; at < bytes.length;) {
    if (at + 8 > bytes.length || bytes.readUInt16LE(at) !== 0xfffe || bytes.readUInt16LE(at + 2) !== itemTag)
      throw new TileDecodeFailure(tile.index, `item header of fragment ${parts.length + 1} is damaged`);
    const end = at + 8 + bytes.readUInt32LE(at + 4);
    if (end > bytes.length) throw new TileDecodeFailure(tile.index, `fragment ${parts.length + 1} runs past the frame`);
    parts.push(bytes.subarray(at + 8, end));
    at = end;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Native (uncompressed) RGB frames, interleaved: the bytes are the pixels. */
export const rawRgbFrames: TileDecoder = {
  // Copied: the read block they sit in is larger than the tile the cache accounts for.
  decode: (tiles) => Promise.resolve(tiles.map((tile) => Buffer.from(tile.bytes))),
};
