import { access, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { deflate } from 'node:zlib';
import sharp from 'sharp';
import { convertedSlideMarker, type ConvertedSlideInfo } from './converted-slide-layout.js';
import { OpenSlideStream, defaultConverterPython, type ConverterHeader } from './openslide-stream.js';
import { slideFingerprint } from './slide-fingerprint.js';
import type { RgbImage } from './slide-reader.js';
import { Compression, Photometric, readTiffImage } from './tiff-image.js';
import { parseTiff } from './tiff-parser.js';
import { writeTiff, type TiffPageSpec } from './tiff-writer.js';

// Formats we do not read ourselves (NDPI, MRXS, SCN, BIF, Philips TIFF, JPEG 2000 SVS without the
// native decoder, ...) are read once through OpenSlide 4 (infra/openslide-convert.py in
// .tools/openslide-venv, which streams raw RGB tiles) and written as a JPEG-tiled TIFF with the
// same levels, resolution and associated images. The copy is cached under the source's fingerprint
// (size, mtime, sampled bytes: slide-fingerprint.ts), so a slide is converted once however many
// activities open it. It is written under a temporary name and renamed when complete, so a killed
// conversion leaves nothing a later open would take for a finished one.

export interface ConversionOptions {
  cacheDir: string;
  /** The Python that runs infra/openslide-convert.py (default: defaultConverterPython()). */
  python?: string;
  /** Why the slide needs converting, for the message when it cannot be. */
  reason?: string;
  signal?: AbortSignal;
  /** JPEG quality of the converted tiles (default 98, RGB without chroma subsampling: the copy adds little loss). */
  jpegQuality?: number;
  /** Associated images read by our own decoder, for TIFF sources where that works. */
  associatedFromSource?: Map<string, () => Promise<RgbImage>>;
  /** Called as tiles are written: how many of all the levels' tiles are done. */
  onProgress?: (tilesDone: number, tilesTotal: number) => void;
}

// Tiles encoded at once: enough to keep sharp's threads busy while the next tiles stream in.
const encodesInFlight = 8;
// Associated images are written as deflated strips of about this many bytes.
const stripBytes = 1024 * 1024;
// Not util.promisify(deflate): its overloads leave typescript-eslint typing tiff-writer's chunks as any.
const deflateAsync = (data: Buffer): Promise<Buffer> =>
  new Promise((resolve, reject) => deflate(data, (error, result) => (error ? reject(error) : resolve(result))));

export async function convertWithOpenSlide(path: string, options: ConversionOptions): Promise<string> {
  const fingerprint = await slideFingerprint(path);
  const target = join(options.cacheDir, `${fingerprint}.tiff`);
  if (await exists(target)) return target;

  const { stream, header } = await OpenSlideStream.open(path, {
    python: options.python ?? defaultConverterPython(),
    reason: options.reason ?? 'in a format we do not decode',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let work: string | undefined;
  try {
    await mkdir(options.cacheDir, { recursive: true });
    work = await mkdtemp(join(options.cacheDir, `.converting-${fingerprint.slice(0, 12)}-`));
    const info = slideInfo(path, fingerprint, header);
    const encoder = await tileEncoder(header.tileSize, options.jpegQuality ?? 98);
    const pages = [
      ...levelPages(stream, header, info, encoder, options.onProgress),
      ...(await associatedPages(stream, header, info, options.associatedFromSource)),
    ];
    pages[0]!.description = `${convertedSlideMarker}\n${JSON.stringify(info)}`;
    const partial = join(work, 'converted.tiff');
    await writeTiff(partial, pages, { bigTiff: true });
    await stream.finish();
    options.signal?.throwIfAborted();
    await rename(partial, target);
    return target;
  } finally {
    stream.close();
    if (work) await rm(work, { recursive: true, force: true });
  }
}

function slideInfo(path: string, fingerprint: string, header: ConverterHeader): ConvertedSlideInfo {
  return {
    version: 1,
    source: { path, fingerprint },
    vendor: header.vendor ?? 'unknown',
    mpp: header.mppX && header.mppY ? { x: header.mppX, y: header.mppY } : null,
    objectivePower: header.objectivePower,
    downsamples: header.levels.map((level, index) => (index === 0 ? 1 : level.downsample)),
    associated: [],
  };
}

function levelPages(
  stream: OpenSlideStream,
  header: ConverterHeader,
  info: ConvertedSlideInfo,
  encoder: TileEncoder,
  onProgress: ConversionOptions['onProgress'],
): TiffPageSpec[] {
  const size = header.tileSize;
  const tileCounts = header.levels.map((l) => Math.ceil(l.width / size) * Math.ceil(l.height / size));
  const total = tileCounts.reduce((a, b) => a + b, 0);
  let done = 0;
  const written = (): void => onProgress?.(++done, total);
  return header.levels.map((level, index) => {
    const page: TiffPageSpec = {
      width: level.width,
      height: level.height,
      tile: { width: size, height: size },
      compression: Compression.Jpeg,
      photometric: encoder.photometric,
      newSubfileType: index === 0 ? 0 : 1,
      chunks: encodedTiles(stream, tileCounts[index]!, size * size * 3, encoder.encode, written),
    };
    if (encoder.jpegTables) page.jpegTables = encoder.jpegTables;
    const downsample = info.downsamples[index]!;
    if (info.mpp)
      page.resolution = { x: 10_000 / (info.mpp.x * downsample), y: 10_000 / (info.mpp.y * downsample), unit: 3 };
    return page;
  });
}

interface TileEncoder {
  photometric: number;
  jpegTables: Buffer | undefined;
  encode: (rgb: Buffer) => Promise<Buffer>;
}

/**
 * JPEG tiles as libvips writes them into a TIFF, as the vips command did before: at quality 90 and
 * above RGB without a colour transform or chroma subsampling (at Q 98 within 3 of the source,
 * where a YCbCr 4:4:4 JPEG is off by up to 8), abbreviated streams sharing one JPEGTables. Each
 * tile is a one-tile TIFF from sharp, its tile taken out; all-white tiles (no data, common around
 * tissue) are encoded once.
 */
async function tileEncoder(size: number, quality: number): Promise<TileEncoder> {
  const viaTiff = async (rgb: Buffer): Promise<{ tile: Buffer; tables?: Buffer; photometric: number }> => {
    const tiff = await sharp(rgb, { raw: { width: size, height: size, channels: 3 } })
      .tiff({ compression: 'jpeg', quality, tile: true, tileWidth: size, tileHeight: size })
      .toBuffer();
    const source = {
      path: 'encoded tile',
      size: tiff.length,
      read: (at: number, n: number) => Promise.resolve(tiff.subarray(at, at + n)),
    };
    const image = readTiffImage(source.path, (await parseTiff(source)).pages[0]!);
    const tile = Buffer.from(tiff.subarray(image.offsets[0], image.offsets[0]! + image.byteCounts[0]!));
    return { tile, photometric: image.photometric, ...(image.jpegTables ? { tables: image.jpegTables } : {}) };
  };
  const white = Buffer.alloc(size * size * 3, 255);
  const whiteTile = await viaTiff(white);
  return {
    photometric: whiteTile.photometric,
    jpegTables: whiteTile.tables,
    encode: async (rgb) => {
      if (rgb.equals(white)) return whiteTile.tile;
      const encoded = await viaTiff(rgb);
      // One JPEGTables serves the page only while libtiff writes the same tables for every tile.
      if (encoded.photometric !== whiteTile.photometric || !sameBytes(encoded.tables, whiteTile.tables))
        throw new Error('libvips wrote JPEG tiles with differing tables; the converted page cannot share one');
      return encoded.tile;
    },
  };
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

/** One level's tiles as they stream in, encoded a few at a time, in order. */
async function* encodedTiles(
  stream: OpenSlideStream,
  count: number,
  tileBytes: number,
  encode: (rgb: Buffer) => Promise<Buffer>,
  written: () => void,
): AsyncGenerator<Buffer> {
  const pending: Promise<Buffer>[] = [];
  const next = async (): Promise<Buffer> => {
    const tile = await pending.shift()!;
    written();
    return tile;
  };
  for (let i = 0; i < count; i++) {
    const encoding = encode(await stream.read(tileBytes));
    // Awaited in order below; this only keeps a failure after an abandoned conversion from going unhandled.
    encoding.catch(() => undefined);
    pending.push(encoding);
    if (pending.length >= encodesInFlight) yield await next();
  }
  while (pending.length > 0) yield await next();
}

/**
 * The associated images, in the stream's order and then any only our own decoder found. Our own
 * decoder's image is preferred (the streamed one is then read past); which pages exist is settled
 * here, before anything is written, because page 0's description lists them.
 */
async function associatedPages(
  stream: OpenSlideStream,
  header: ConverterHeader,
  info: ConvertedSlideInfo,
  own: Map<string, () => Promise<RgbImage>> | undefined,
): Promise<TiffPageSpec[]> {
  const decoded = new Map<string, RgbImage>();
  for (const [name, read] of own ?? []) {
    // A convenience, not data: one our decoder cannot read falls back to OpenSlide's, or is left out.
    const image = await read().catch(() => undefined);
    if (image) decoded.set(name, image);
  }
  const streamed = new Map(header.associated.map((image) => [image.name, image]));
  const pages: TiffPageSpec[] = [];
  for (const name of new Set([...streamed.keys(), ...decoded.keys()])) {
    const fromStream = streamed.get(name);
    const image = decoded.get(name) ?? fromStream!;
    info.associated.push({ name, page: info.downsamples.length + pages.length });
    const rows = Math.max(1, Math.floor(stripBytes / (image.width * 3)));
    pages.push({
      width: image.width,
      height: image.height,
      rowsPerStrip: rows,
      compression: Compression.Deflate,
      photometric: Photometric.Rgb,
      chunks: associatedStrips(stream, fromStream, decoded.get(name), rows),
    });
  }
  return pages;
}

/** One associated page's deflated strips: ours when we have it, else OpenSlide's, which is read past either way. */
async function* associatedStrips(
  stream: OpenSlideStream,
  streamed: { width: number; height: number } | undefined,
  ours: RgbImage | undefined,
  rows: number,
): AsyncGenerator<Buffer> {
  if (streamed) {
    // Without ours the page is this image, and `rows` is already its strip height.
    const streamRows = Math.max(1, Math.floor(stripBytes / (streamed.width * 3)));
    for (let y = 0; y < streamed.height; y += streamRows) {
      const strip = await stream.read(Math.min(streamRows, streamed.height - y) * streamed.width * 3);
      if (!ours) yield await deflateAsync(strip);
    }
  }
  if (ours) {
    const rowBytes = ours.width * 3;
    for (let y = 0; y < ours.height; y += rows)
      yield await deflateAsync(ours.data.subarray(y * rowBytes, Math.min(y + rows, ours.height) * rowBytes));
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}
