import { asSlideError, slideUnreadable } from './slide-errors.js';

// A small reader of TIFF structure: classic and BigTIFF headers, the main IFD chain and SubIFDs, and
// every tag's value. Pixels are not decoded here; the slide readers need the raw tile offsets, byte
// counts and JPEGTables, which is why this is ours and not a general image library.

/** Whatever can hand out byte ranges of the file (an open file handle, or a buffer in tests). */
export interface ByteSource {
  readonly path: string;
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

export type TiffTagValue = number[] | string | Buffer;

export interface TiffDirectory {
  /** Index of the page in the main IFD chain (for a SubIFD: of the page that lists it). */
  page: number;
  /** Index among its parent page's SubIFDs; undefined for a page of the main chain. */
  subIfd?: number;
  offset: number;
  tags: Map<number, TiffTagValue>;
  subIfds: TiffDirectory[];
}

export interface TiffStructure {
  littleEndian: boolean;
  bigTiff: boolean;
  pages: TiffDirectory[];
}

export const Tag = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  ImageDescription: 270,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  XResolution: 282,
  YResolution: 283,
  PlanarConfig: 284,
  ResolutionUnit: 296,
  Software: 305,
  Predictor: 317,
  ColorMap: 320,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  SubIFDs: 330,
  ExtraSamples: 338,
  SampleFormat: 339,
  JPEGTables: 347,
  YCbCrSubSampling: 530,
  ImageDepth: 32997,
  NdpiFormatFlag: 65420,
} as const;

const typeSizes: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};
const maxPages = 10_000;
const maxEntriesPerDirectory = 4_096;
const maxValueBytes = 512 * 1024 * 1024;

export function looksLikeTiff(head: Buffer): boolean {
  if (head.length < 4) return false;
  const order = head.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return false;
  const magic = order === 'II' ? head.readUInt16LE(2) : head.readUInt16BE(2);
  return magic === 42 || magic === 43;
}

export async function parseTiff(source: ByteSource): Promise<TiffStructure> {
  try {
    return await parseStructure(source);
  } catch (error) {
    // Whatever a malformed file makes the walk trip over is the file's fault, not ours.
    throw asSlideError(error, source.path, 'malformed TIFF structure');
  }
}

async function parseStructure(source: ByteSource): Promise<TiffStructure> {
  if (source.size < 8) throw slideUnreadable(source.path, `file is too short to be a TIFF (${source.size} bytes)`);
  const head = await source.read(0, Math.min(16, source.size));
  if (!looksLikeTiff(head)) throw slideUnreadable(source.path, 'not a TIFF file (bad header)');
  const reader = new TiffReader(source, head.toString('latin1', 0, 2) === 'II', false);
  reader.bigTiff = reader.u16(head, 2) === 43;
  let first: number;
  if (reader.bigTiff) {
    if (head.length < 16 || reader.u16(head, 4) !== 8) throw slideUnreadable(source.path, 'bad BigTIFF header');
    first = reader.u64(head, 8);
  } else {
    first = reader.u32(head, 4);
  }

  const pages: TiffDirectory[] = [];
  const visited = new Set<number>();
  let offset = first;
  while (offset !== 0) {
    if (visited.has(offset)) throw slideUnreadable(source.path, `IFD chain loops back to offset ${offset}`);
    if (pages.length >= maxPages) throw slideUnreadable(source.path, `more than ${maxPages} TIFF pages`);
    visited.add(offset);
    const { directory, next } = await reader.readDirectory(offset, pages.length, undefined, visited, 0);
    pages.push(directory);
    offset = next;
  }
  if (pages.length === 0) throw slideUnreadable(source.path, 'TIFF has no image directory');
  return { littleEndian: reader.littleEndian, bigTiff: reader.bigTiff, pages };
}

class TiffReader {
  constructor(
    private readonly source: ByteSource,
    readonly littleEndian: boolean,
    public bigTiff: boolean,
  ) {}

  u16(b: Buffer, at: number): number {
    return this.littleEndian ? b.readUInt16LE(at) : b.readUInt16BE(at);
  }
  u32(b: Buffer, at: number): number {
    return this.littleEndian ? b.readUInt32LE(at) : b.readUInt32BE(at);
  }
  u64(b: Buffer, at: number): number {
    const value = this.littleEndian ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw slideUnreadable(this.source.path, 'TIFF offset too large');
    return Number(value);
  }

  async readDirectory(
    offset: number,
    page: number,
    subIfd: number | undefined,
    visited: Set<number>,
    depth: number,
  ): Promise<{ directory: TiffDirectory; next: number }> {
    const countSize = this.bigTiff ? 8 : 2;
    const entrySize = this.bigTiff ? 20 : 12;
    const pointerSize = this.bigTiff ? 8 : 4;
    const countBytes = await this.source.read(offset, countSize);
    const count = this.bigTiff ? this.u64(countBytes, 0) : this.u16(countBytes, 0);
    if (count === 0 || count > maxEntriesPerDirectory) {
      throw slideUnreadable(this.source.path, `implausible IFD with ${count} entries at offset ${offset}`);
    }
    const body = await this.source.read(offset + countSize, count * entrySize + pointerSize);
    const tags = new Map<number, TiffTagValue>();
    for (let i = 0; i < count; i++) {
      const at = i * entrySize;
      const tag = this.u16(body, at);
      const type = this.u16(body, at + 2);
      const valueCount = this.bigTiff ? this.u64(body, at + 4) : this.u32(body, at + 4);
      const size = typeSizes[type];
      if (size === undefined) continue; // unknown types are skippable by the TIFF spec
      const byteLength = size * valueCount;
      if (byteLength > maxValueBytes) throw slideUnreadable(this.source.path, `tag ${tag} is implausibly large`);
      const valueAt = at + 4 + (this.bigTiff ? 8 : 4);
      const raw =
        byteLength <= pointerSize
          ? body.subarray(valueAt, valueAt + byteLength)
          : await this.source.read(this.bigTiff ? this.u64(body, valueAt) : this.u32(body, valueAt), byteLength);
      tags.set(tag, this.decodeValue(type, valueCount, raw));
    }
    const nextAt = count * entrySize;
    const next = this.bigTiff ? this.u64(body, nextAt) : this.u32(body, nextAt);

    const subIfds: TiffDirectory[] = [];
    const subOffsets = tags.get(Tag.SubIFDs);
    if (Array.isArray(subOffsets) && depth === 0) {
      for (const [index, subOffset] of subOffsets.entries()) {
        if (visited.has(subOffset)) throw slideUnreadable(this.source.path, `SubIFD loops back to offset ${subOffset}`);
        visited.add(subOffset);
        const { directory } = await this.readDirectory(subOffset, page, index, visited, depth + 1);
        subIfds.push(directory);
      }
    }
    const directory: TiffDirectory = { page, offset, tags, subIfds };
    if (subIfd !== undefined) directory.subIfd = subIfd;
    return { directory, next };
  }

  private decodeValue(type: number, count: number, raw: Buffer): TiffTagValue {
    switch (type) {
      case 2:
        return raw.toString('latin1').replace(/\0+$/, '');
      case 1:
      case 6:
      case 7:
        return Buffer.from(raw);
      default: {
        const values = new Array<number>(count);
        for (let i = 0; i < count; i++) values[i] = this.numberAt(type, raw, i);
        return values;
      }
    }
  }

  private numberAt(type: number, raw: Buffer, i: number): number {
    switch (type) {
      case 3:
        return this.u16(raw, i * 2);
      case 4:
      case 13:
        return this.u32(raw, i * 4);
      case 5: {
        const denominator = this.u32(raw, i * 8 + 4);
        return denominator === 0 ? 0 : this.u32(raw, i * 8) / denominator;
      }
      case 8:
        return this.littleEndian ? raw.readInt16LE(i * 2) : raw.readInt16BE(i * 2);
      case 9:
        return this.littleEndian ? raw.readInt32LE(i * 4) : raw.readInt32BE(i * 4);
      case 10: {
        const signed = (at: number) => (this.littleEndian ? raw.readInt32LE(at) : raw.readInt32BE(at));
        const denominator = signed(i * 8 + 4);
        return denominator === 0 ? 0 : signed(i * 8) / denominator;
      }
      case 11:
        return this.littleEndian ? raw.readFloatLE(i * 4) : raw.readFloatBE(i * 4);
      case 12:
        return this.littleEndian ? raw.readDoubleLE(i * 8) : raw.readDoubleBE(i * 8);
      case 16:
      case 18:
        return this.u64(raw, i * 8);
      case 17: {
        const value = this.littleEndian ? raw.readBigInt64LE(i * 8) : raw.readBigInt64BE(i * 8);
        return Number(value);
      }
      default:
        return 0;
    }
  }
}
