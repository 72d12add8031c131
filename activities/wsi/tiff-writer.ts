import { open } from 'node:fs/promises';
import { Tag } from './tiff-parser.js';

// A small TIFF writer: pages of already-encoded tiles or strips, written one after another with
// their IFDs, in classic TIFF or BigTIFF, optionally with SubIFDs. It exists so that a converted
// slide keeps its source's exact level layout and so tests can build slides with an exact vendor
// layout (Aperio's level 0, thumbnail, levels, label, macro).

export interface TiffPageSpec {
  width: number;
  height: number;
  /** Tiled when given; otherwise stripped with `rowsPerStrip` rows per strip (default: one strip). */
  tile?: { width: number; height: number };
  rowsPerStrip?: number;
  compression: number;
  photometric: number;
  samplesPerPixel?: number;
  /** TIFF predictor of lossless chunks (2 = horizontal differencing). */
  predictor?: number;
  jpegTables?: Buffer;
  ycbcrSubsampling?: [number, number];
  description?: string;
  newSubfileType?: number;
  /** Pixels per unit; unit 2 = inch, 3 = centimetre. */
  resolution?: { x: number; y: number; unit: 2 | 3 };
  /** Encoded tiles (or strips) in row-major order; an empty buffer writes a zero-length tile. */
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>;
  subIfds?: TiffPageSpec[];
}

type Field = { tag: number; type: number; values: number[] | Buffer };

export async function writeTiff(
  path: string,
  pages: TiffPageSpec[],
  options: { bigTiff?: boolean } = {},
): Promise<void> {
  const big = options.bigTiff ?? false;
  const handle = await open(path, 'w');
  let position = 0;
  const write = async (buffer: Buffer): Promise<number> => {
    const at = position;
    let done = 0;
    while (done < buffer.length)
      done += (await handle.write(buffer, done, buffer.length - done, at + done)).bytesWritten;
    position += buffer.length;
    return at;
  };
  const align = async (): Promise<void> => {
    if (position % 2 === 1) await write(Buffer.alloc(1));
  };
  const pointer = (value: number): Buffer => {
    const buffer = Buffer.alloc(big ? 8 : 4);
    if (big) buffer.writeBigUInt64LE(BigInt(value));
    else buffer.writeUInt32LE(value);
    return buffer;
  };

  const writePage = async (page: TiffPageSpec): Promise<{ ifdOffset: number; nextPointerAt: number }> => {
    const subOffsets: number[] = [];
    for (const sub of page.subIfds ?? []) subOffsets.push((await writePage(sub)).ifdOffset);
    const offsets: number[] = [];
    const counts: number[] = [];
    for await (const chunk of page.chunks) {
      offsets.push(chunk.length === 0 ? 0 : await write(chunk));
      counts.push(chunk.length);
    }
    await align();
    const spp = page.samplesPerPixel ?? 3;
    const offsetType = big ? 16 : 4;
    const fields: Field[] = [
      { tag: Tag.ImageWidth, type: 4, values: [page.width] },
      { tag: Tag.ImageLength, type: 4, values: [page.height] },
      { tag: Tag.BitsPerSample, type: 3, values: new Array<number>(spp).fill(8) },
      { tag: Tag.Compression, type: 3, values: [page.compression] },
      { tag: Tag.Photometric, type: 3, values: [page.photometric] },
      { tag: Tag.SamplesPerPixel, type: 3, values: [spp] },
      { tag: Tag.PlanarConfig, type: 3, values: [1] },
    ];
    if (page.newSubfileType !== undefined)
      fields.push({ tag: Tag.NewSubfileType, type: 4, values: [page.newSubfileType] });
    if (page.description !== undefined)
      fields.push({ tag: Tag.ImageDescription, type: 2, values: Buffer.from(`${page.description}\0`, 'latin1') });
    if (page.tile) {
      fields.push(
        { tag: Tag.TileWidth, type: 4, values: [page.tile.width] },
        { tag: Tag.TileLength, type: 4, values: [page.tile.height] },
        { tag: Tag.TileOffsets, type: offsetType, values: offsets },
        { tag: Tag.TileByteCounts, type: offsetType, values: counts },
      );
    } else {
      fields.push(
        { tag: Tag.StripOffsets, type: offsetType, values: offsets },
        { tag: Tag.RowsPerStrip, type: 4, values: [page.rowsPerStrip ?? page.height] },
        { tag: Tag.StripByteCounts, type: offsetType, values: counts },
      );
    }
    if (page.resolution) {
      fields.push(
        { tag: Tag.XResolution, type: 5, values: [page.resolution.x] },
        { tag: Tag.YResolution, type: 5, values: [page.resolution.y] },
        { tag: Tag.ResolutionUnit, type: 3, values: [page.resolution.unit] },
      );
    }
    if (page.predictor !== undefined) fields.push({ tag: Tag.Predictor, type: 3, values: [page.predictor] });
    if (subOffsets.length > 0) fields.push({ tag: Tag.SubIFDs, type: big ? 18 : 13, values: subOffsets });
    if (page.jpegTables) fields.push({ tag: Tag.JPEGTables, type: 7, values: page.jpegTables });
    if (page.ycbcrSubsampling) fields.push({ tag: Tag.YCbCrSubSampling, type: 3, values: page.ycbcrSubsampling });
    fields.sort((a, b) => a.tag - b.tag);

    // Values that do not fit in an entry go first, then the IFD that points at them.
    const inline = big ? 8 : 4;
    const encoded = fields.map((field) => ({ field, bytes: encodeValues(field, big) }));
    const valueOffsets: number[] = [];
    for (const { bytes } of encoded) {
      if (bytes.length > inline) {
        valueOffsets.push(await write(bytes));
        await align();
      } else valueOffsets.push(-1);
    }
    const entrySize = big ? 20 : 12;
    const ifd = Buffer.alloc((big ? 8 : 2) + fields.length * entrySize + inline);
    if (big) ifd.writeBigUInt64LE(BigInt(fields.length));
    else ifd.writeUInt16LE(fields.length);
    encoded.forEach(({ field, bytes }, i) => {
      const at = (big ? 8 : 2) + i * entrySize;
      const count = Buffer.isBuffer(field.values) ? field.values.length : field.values.length;
      ifd.writeUInt16LE(field.tag, at);
      ifd.writeUInt16LE(field.type, at + 2);
      if (big) ifd.writeBigUInt64LE(BigInt(count), at + 4);
      else ifd.writeUInt32LE(count, at + 4);
      const valueAt = at + (big ? 12 : 8);
      if (valueOffsets[i]! >= 0) pointer(valueOffsets[i]!).copy(ifd, valueAt);
      else bytes.copy(ifd, valueAt);
    });
    const ifdOffset = await write(ifd);
    return { ifdOffset, nextPointerAt: ifdOffset + ifd.length - inline };
  };

  try {
    const header = Buffer.alloc(big ? 16 : 8);
    header.write('II', 0, 'latin1');
    header.writeUInt16LE(big ? 43 : 42, 2);
    if (big) header.writeUInt16LE(8, 4);
    await write(header);
    let previousPointerAt = big ? 8 : 4;
    for (const page of pages) {
      const { ifdOffset, nextPointerAt } = await writePage(page);
      await handle.write(pointer(ifdOffset), 0, big ? 8 : 4, previousPointerAt);
      previousPointerAt = nextPointerAt;
    }
  } finally {
    await handle.close();
  }
}

function encodeValues(field: Field, big: boolean): Buffer {
  if (Buffer.isBuffer(field.values)) return field.values;
  const values = field.values;
  switch (field.type) {
    case 3: {
      const buffer = Buffer.alloc(values.length * 2);
      values.forEach((v, i) => buffer.writeUInt16LE(v, i * 2));
      return buffer;
    }
    case 5: {
      const buffer = Buffer.alloc(values.length * 8);
      values.forEach((v, i) => {
        // The largest power-of-ten denominator that still fits keeps the most decimals.
        let denominator = 1_000_000;
        while (denominator > 1 && v * denominator > 0xffffffff) denominator /= 10;
        buffer.writeUInt32LE(Math.min(0xffffffff, Math.round(v * denominator)), i * 8);
        buffer.writeUInt32LE(denominator, i * 8 + 4);
      });
      return buffer;
    }
    case 16:
    case 18: {
      const buffer = Buffer.alloc(values.length * 8);
      values.forEach((v, i) => buffer.writeBigUInt64LE(BigInt(v), i * 8));
      return buffer;
    }
    default: {
      if (big && values.some((v) => v > 0xffffffff)) throw new RangeError(`value too large for tag ${field.tag}`);
      const buffer = Buffer.alloc(values.length * 4);
      values.forEach((v, i) => buffer.writeUInt32LE(v, i * 4));
      return buffer;
    }
  }
}
