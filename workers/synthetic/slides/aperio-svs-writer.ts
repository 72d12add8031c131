import sharp, { type Sharp, type TiffOptions } from 'sharp';
import { seededRandom } from '../../../activities/common/seeded-random.js';
import { Compression, Photometric, readTiffImage, type TiffImage } from '../../../activities/wsi/tiff-image.js';
import { parseTiff, Tag, type TiffStructure } from '../../../activities/wsi/tiff-parser.js';
import { writeTiff, type TiffPageSpec } from '../../../activities/wsi/tiff-writer.js';
import { encodeAperioRgbTile, encodeYcbcrTile, type SvsJpegColour } from './svs-jpeg-tiles.js';

// An SVS laid out the way an Aperio scanner writes one (level 0, thumbnail, lower levels, label,
// macro), with tiles rendered on demand by a pixel source and written one at a time with our TIFF
// writer, so a slide never sits in memory whole. The demo cohort and the test fixtures share it.

/** Where the pixels come from. */
export interface SvsPixelSource {
  /**
   * Packed RGB of `width`×`height` pixels at (levelX, levelY) of an image `downsample` times
   * smaller than level 0, sampled at pixel centres. Pages are rendered lazily in the file's order:
   * every level-0 tile is asked for before anything at a lower resolution.
   */
  render(levelX: number, levelY: number, width: number, height: number, downsample: number): Buffer;
  /** True when a level-0 rectangle holds only bare glass (its tile may be encoded once and repeated). */
  isBlankGlass?(x: number, y: number, width: number, height: number): boolean;
}

export interface AperioSvsOptions {
  width: number;
  height: number;
  tileSize?: number;
  quality?: number;
  mpp?: number;
  appMag?: number;
  /** Downsamples of the pyramid levels below level 0 (Aperio default 4 and 16). */
  downsamples?: number[];
  /** Encode one tile of bare glass and repeat it (needs `source.isBlankGlass`). */
  reuseGlassTiles?: boolean;
  /** Aperio "JPEG/RGB" tiles (default), or YCbCr 4:4:4 tiles as newer scanners and libtiff write. */
  jpegColour?: SvsJpegColour;
  /** The `Filename` field of the image descriptions. */
  filename?: string;
  /** Seeds the barcode-like pattern of the label image. */
  labelSeed?: number;
}

export interface AperioSvsLevel {
  width: number;
  height: number;
  downsample: number;
}

const aperioHeader = 'Aperio Image Library v12.0.15';
/** Encodes in flight while the next tiles are rendered: sharp encodes on libuv's threads. */
const encodeWindow = 16;

async function* renderTiles(
  source: SvsPixelSource,
  level: AperioSvsLevel,
  tileSize: number,
  encode: (rgb: Buffer) => Promise<Buffer>,
  reuseGlass: boolean,
): AsyncGenerator<Buffer> {
  const across = Math.ceil(level.width / tileSize);
  const total = across * Math.ceil(level.height / tileSize);
  const span = tileSize * level.downsample;
  // Tiles of bare glass are all alike but for noise; when asked, one is encoded and repeated, which
  // makes large slides quick to write without changing how tissue tiles decode.
  let glass: Promise<Buffer> | undefined;
  const pending: Promise<Buffer>[] = [];
  for (let index = 0; index < total; index++) {
    const x = (index % across) * tileSize;
    const y = Math.floor(index / across) * tileSize;
    const blank =
      reuseGlass && (source.isBlankGlass?.(x * level.downsample, y * level.downsample, span, span) ?? false);
    if (blank) {
      glass ??= encode(source.render(x, y, tileSize, tileSize, level.downsample));
      pending.push(glass);
    } else {
      pending.push(encode(source.render(x, y, tileSize, tileSize, level.downsample)));
    }
    if (pending.length >= encodeWindow) yield await pending.shift()!;
  }
  for (const tile of pending) yield await tile;
}

export function aperioLevels(width: number, height: number, downsamples: number[] = [4, 16]): AperioSvsLevel[] {
  return [1, ...downsamples].map((downsample) => ({
    width: Math.floor(width / downsample),
    height: Math.floor(height / downsample),
    downsample,
  }));
}

/** Writes `path` as an Aperio SVS; returns the sizes of the pyramid levels as written. */
export async function writeAperioSvs(
  path: string,
  source: SvsPixelSource,
  options: AperioSvsOptions,
): Promise<AperioSvsLevel[]> {
  const { width, height } = options;
  const tileSize = options.tileSize ?? 240;
  const quality = options.quality ?? 80;
  const mpp = options.mpp ?? 0.25;
  const appMag = options.appMag ?? 40;
  const levels = aperioLevels(width, height, options.downsamples);
  const ycbcr = options.jpegColour === 'ycbcr' || options.jpegColour === 'ycbcr-420';
  const chroma = options.jpegColour === 'ycbcr-420' ? '4:2:0' : '4:4:4';
  const encoder = ycbcr
    ? (rgb: Buffer, w: number, h: number, q: number) => encodeYcbcrTile(rgb, w, h, q, chroma)
    : encodeAperioRgbTile;
  const photometric = ycbcr ? Photometric.YCbCr : Photometric.Rgb;
  const colour = ycbcr ? 'YCC' : 'RGB';
  const { tables } = await encoder(Buffer.alloc(16 * 16 * 3, 255), 16, 16, quality);
  const encode = async (rgb: Buffer, w = tileSize, h = tileSize) => (await encoder(rgb, w, h, quality)).tile;
  const common = `|AppMag = ${appMag}|StripeWidth = 2040|ScanScope ID = SS1234|Filename = ${options.filename ?? 'synthetic'}|Date = 01/02/24|Time = 10:00:00|MPP = ${mpp.toFixed(4)}|Left = 25.0|Top = 23.0`;
  const levelPage = (level: AperioSvsLevel, index: number): TiffPageSpec => ({
    width: level.width,
    height: level.height,
    tile: { width: tileSize, height: tileSize },
    compression: Compression.Jpeg,
    photometric,
    ycbcrSubsampling: chroma === '4:2:0' ? [2, 2] : [1, 1],
    jpegTables: tables,
    description:
      index === 0
        ? `${aperioHeader} \r\n${width}x${height} [0,0 ${width}x${height}] (${tileSize}x${tileSize}) JPEG/${colour} Q=${quality}${common}`
        : `${aperioHeader} \r\n${width}x${height} [0,0 ${width}x${height}] (${tileSize}x${tileSize}) -> ${level.width}x${level.height} JPEG/${colour} Q=${quality}${common}`,
    chunks: renderTiles(source, level, tileSize, (rgb) => encode(rgb), options.reuseGlassTiles ?? false),
  });

  const thumbnailDownsample = Math.max(width / 768, height / 768, 1);
  const thumbnail = {
    width: Math.round(width / thumbnailDownsample),
    height: Math.round(height / thumbnailDownsample),
    downsample: thumbnailDownsample,
  };
  const rowsPerStrip = 64;
  async function* thumbnailStrips(): AsyncGenerator<Buffer> {
    for (let top = 0; top < thumbnail.height; top += rowsPerStrip) {
      const rows = Math.min(rowsPerStrip, thumbnail.height - top);
      yield await encode(source.render(0, top, thumbnail.width, rows, thumbnail.downsample), thumbnail.width, rows);
    }
  }
  // The macro photograph: the slide seen whole beside a grey strip where the label sits. Rendered
  // only when the writer reaches it, after every level-0 tile.
  const macroSlideWidth = 600;
  const macro = { width: macroSlideWidth + 150, height: Math.round((macroSlideWidth * height) / width) };
  async function* macroStrip(): AsyncGenerator<Buffer> {
    const slide = source.render(0, 0, macroSlideWidth, macro.height, width / macroSlideWidth);
    const rgb = Buffer.alloc(macro.width * macro.height * 3, 0xc8);
    for (let row = 0; row < macro.height; row++)
      slide.copy(rgb, (row * macro.width + 150) * 3, row * macroSlideWidth * 3, (row + 1) * macroSlideWidth * 3);
    yield await encode(rgb, macro.width, macro.height);
  }
  const label = await pageFromSharp(labelImage(options.labelSeed ?? 0), {
    compression: 'lzw',
    predictor: 'horizontal',
  });

  const pages: TiffPageSpec[] = [
    levelPage(levels[0]!, 0),
    {
      width: thumbnail.width,
      height: thumbnail.height,
      rowsPerStrip,
      compression: Compression.Jpeg,
      photometric,
      ycbcrSubsampling: chroma === '4:2:0' ? [2, 2] : [1, 1],
      jpegTables: tables,
      description: `${aperioHeader} \r\n${width}x${height} -> ${thumbnail.width}x${thumbnail.height} - ${common}`,
      chunks: thumbnailStrips(),
    },
    ...levels.slice(1).map((level, i) => levelPage(level, i + 1)),
    // NewSubfileType as scanners write it (label 1, macro 9): OpenSlide 4 and tifffile name the
    // associated pages by it; OpenSlide 3.4 read the description.
    { ...label, newSubfileType: 1, description: `${aperioHeader}\nlabel ${label.width}x${label.height}` },
    {
      width: macro.width,
      height: macro.height,
      rowsPerStrip: macro.height,
      compression: Compression.Jpeg,
      photometric,
      ycbcrSubsampling: chroma === '4:2:0' ? [2, 2] : [1, 1],
      jpegTables: tables,
      newSubfileType: 9,
      description: `${aperioHeader}\nmacro ${macro.width}x${macro.height}`,
      chunks: macroStrip(),
    },
  ];
  await writeTiff(path, pages, { bigTiff: width * height > 2e9 });
  return levels;
}

function labelImage(seed: number): Sharp {
  const random = seededRandom(seed + 99);
  const width = 300;
  const height = 280;
  const rgb = Buffer.alloc(width * height * 3, 250);
  // A barcode-like pattern of bars, so the label is not flat.
  for (let x = 20; x < width - 20; x += 6) {
    if (random() < 0.5) continue;
    for (let y = 40; y < 160; y++) rgb.fill(20, (y * width + x) * 3, (y * width + x + 3) * 3);
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } });
}

/** Encodes an image with libvips' TIFF writer and lifts out its strips and tags as a page. */
export async function pageFromSharp(
  image: Sharp,
  options: TiffOptions,
): Promise<TiffPageSpec & { width: number; height: number }> {
  const tiff = await image.tiff(options).toBuffer();
  const structure = await parseTiff(bufferSource(tiff));
  const parsed = readTiffImage('memory', structure.pages[0]!);
  return {
    ...pageSpecFrom(parsed, structure, 0, (i) =>
      tiff.subarray(parsed.offsets[i], parsed.offsets[i]! + parsed.byteCounts[i]!),
    ),
  };
}

/** A TIFF in memory as a ByteSource; like a file, it refuses reads past its end. */
export function bufferSource(buffer: Buffer) {
  return {
    path: 'memory',
    size: buffer.length,
    read: (offset: number, length: number): Promise<Buffer> =>
      offset + length > buffer.length
        ? Promise.reject(new RangeError(`read past the end: ${offset}+${length} of ${buffer.length}`))
        : Promise.resolve(buffer.subarray(offset, offset + length)),
  };
}

/** A page of a parsed TIFF as a page spec for our writer, its chunks read through `chunk`. */
export function pageSpecFrom(
  image: TiffImage,
  structure: TiffStructure,
  pageIndex: number,
  chunk: (index: number) => Buffer | Promise<Buffer>,
): TiffPageSpec {
  const chunks = async function* () {
    for (let i = 0; i < image.offsets.length; i++) yield await chunk(i);
  };
  const spec: TiffPageSpec = {
    width: image.width,
    height: image.height,
    compression: image.compression,
    photometric: image.photometric,
    samplesPerPixel: image.samplesPerPixel,
    chunks: chunks(),
  };
  if (image.tiled) spec.tile = { width: image.tileWidth, height: image.tileHeight };
  else spec.rowsPerStrip = image.tileHeight;
  if (image.jpegTables) spec.jpegTables = image.jpegTables;
  if (image.predictor !== 1) spec.predictor = image.predictor;
  const subsampling = structure.pages[pageIndex]?.tags.get(Tag.YCbCrSubSampling);
  if (Array.isArray(subsampling) && subsampling.length === 2)
    spec.ycbcrSubsampling = [subsampling[0]!, subsampling[1]!];
  if (image.xResolution && image.yResolution && (image.resolutionUnit === 2 || image.resolutionUnit === 3)) {
    spec.resolution = { x: image.xResolution, y: image.yResolution, unit: image.resolutionUnit };
  }
  return spec;
}
