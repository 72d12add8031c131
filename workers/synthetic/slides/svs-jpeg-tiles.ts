import sharp from 'sharp';
import { PathgenError } from '../../../activities/common/errors.js';

// Aperio's "JPEG/RGB" tiles: three components holding R, G and B directly (no YCbCr transform),
// component ids 0, 1, 2, no JFIF or Adobe marker, tables kept apart in the page's JPEGTables. A
// decoder left to guess takes them for YCbCr, which is the trap the reader must avoid. libvips
// cannot write such a stream, but it writes greyscale JPEGs, and a baseline JPEG may carry each
// component in its own scan: so each channel is encoded as a grey image and the three scans are
// stitched under one three-component frame.

interface Segments {
  dqt: Buffer[];
  dht: Buffer[];
  scanData: Buffer;
}

function parseGreyJpeg(jpeg: Buffer): Segments {
  const dqt: Buffer[] = [];
  const dht: Buffer[] = [];
  let at = 2;
  for (;;) {
    if (jpeg[at] !== 0xff)
      throw new PathgenError('EncodingFailed', `unexpected byte at ${at} in a grey JPEG from libvips`, { at });
    const marker = jpeg[at + 1]!;
    const length = jpeg.readUInt16BE(at + 2);
    const segment = jpeg.subarray(at, at + 2 + length);
    if (marker === 0xdb) dqt.push(segment);
    if (marker === 0xc4) dht.push(segment);
    if (marker === 0xda) {
      const dataStart = at + 2 + length;
      const eoi = jpeg.lastIndexOf(Buffer.from([0xff, 0xd9]));
      return { dqt, dht, scanData: jpeg.subarray(dataStart, eoi) };
    }
    at += 2 + length;
  }
}

function channel(rgb: Buffer, pixels: number, c: number): Buffer {
  const out = Buffer.allocUnsafe(pixels);
  for (let i = 0; i < pixels; i++) out[i] = rgb[i * 3 + c]!;
  return out;
}

/** Encodes an RGB tile the Aperio way; `tables` goes in JPEGTables, `tile` in the tile data. */
export async function encodeAperioRgbTile(
  rgb: Buffer,
  width: number,
  height: number,
  quality: number,
): Promise<{ tables: Buffer; tile: Buffer }> {
  const pixels = width * height;
  const greys = await Promise.all(
    [0, 1, 2].map((c) =>
      sharp(channel(rgb, pixels, c), { raw: { width, height, channels: 1 } })
        .toColourspace('b-w')
        .jpeg({ quality, optimiseCoding: false, progressive: false })
        .toBuffer(),
    ),
  );
  const parsed = greys.map(parseGreyJpeg);
  const first = parsed[0]!;
  const tables = Buffer.concat([Buffer.from([0xff, 0xd8]), ...first.dqt, ...first.dht, Buffer.from([0xff, 0xd9])]);
  const sof = Buffer.from([
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    0x03,
    0x00,
    0x11,
    0x00,
    0x01,
    0x11,
    0x00,
    0x02,
    0x11,
    0x00,
  ]);
  const parts: Buffer[] = [Buffer.from([0xff, 0xd8]), sof];
  parsed.forEach((segments, c) => {
    // Standard tables at equal quality are the same for every channel; anything else must travel
    // with its scan.
    const sameTables = Buffer.concat(segments.dht).equals(Buffer.concat(first.dht));
    if (!sameTables) parts.push(...segments.dht);
    parts.push(Buffer.from([0xff, 0xda, 0x00, 0x08, 0x01, c, 0x00, 0x00, 0x3f, 0x00]), segments.scanData);
  });
  parts.push(Buffer.from([0xff, 0xd9]));
  return { tables, tile: Buffer.concat(parts) };
}

/**
 * Which JPEG tiles a synthetic SVS holds: Aperio "JPEG/RGB" (three scans, no colour transform),
 * YCbCr 4:4:4, or YCbCr 4:2:0, the way most scanners write them.
 */
export type SvsJpegColour = 'rgb' | 'ycbcr' | 'ycbcr-420';

/**
 * A YCbCr tile as libtiff stores one: standard tables moved out into JPEGTables, the tile keeping
 * only frame and scan. (Aperio scanners write "JPEG/YCC" tiles like this, mostly 4:2:0.)
 */
export async function encodeYcbcrTile(
  rgb: Buffer,
  width: number,
  height: number,
  quality: number,
  chromaSubsampling: '4:4:4' | '4:2:0' = '4:4:4',
): Promise<{ tables: Buffer; tile: Buffer }> {
  const jpeg = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling, optimiseCoding: false })
    .toBuffer();
  const tables: Buffer[] = [];
  const kept: Buffer[] = [];
  let at = 2;
  for (;;) {
    const marker = jpeg[at + 1]!;
    const length = jpeg.readUInt16BE(at + 2);
    const segment = jpeg.subarray(at, at + 2 + length);
    if (marker === 0xda) {
      kept.push(jpeg.subarray(at));
      break;
    }
    if (marker === 0xdb || marker === 0xc4) tables.push(segment);
    else if (marker !== 0xe0) kept.push(segment);
    at += 2 + length;
  }
  return {
    tables: Buffer.concat([Buffer.from([0xff, 0xd8]), ...tables, Buffer.from([0xff, 0xd9])]),
    tile: Buffer.concat([Buffer.from([0xff, 0xd8]), ...kept]),
  };
}
