import { copyFile, open, readFile, truncate, writeFile } from 'node:fs/promises';
import sharp, { type Sharp, type TiffOptions } from 'sharp';
import { RandomAccessFile } from '../../activities/wsi/random-access-file.js';
import { Compression, Photometric, readTiffImage, type TiffImage } from '../../activities/wsi/tiff-image.js';
import { parseTiff, Tag, type TiffStructure } from '../../activities/wsi/tiff-parser.js';
import { writeTiff, type TiffPageSpec } from '../../activities/wsi/tiff-writer.js';
import { encodeAperioRgbTile, encodeYcbcrTile } from './aperio-rgb-jpeg.js';
import { mulberry32, SyntheticTissue, type SyntheticTissueOptions } from './synthetic-tissue.js';

// Synthetic slides for tests and the benchmark: an Aperio-layout SVS written tile by tile with our
// TIFF writer, generic pyramidal TIFFs written by libvips (pages, SubIFDs, OME-TIFF, several
// compressions), and broken variants. The tissue geometry is returned so tests know the truth.

export interface SyntheticSlideSpec extends SyntheticTissueOptions {
  width: number;
  height: number;
  seed: number;
  tileSize?: number;
  mpp?: number;
  appMag?: number;
  /** Downsamples of the pyramid levels below level 0 (Aperio default 4 and 16). */
  downsamples?: number[];
  quality?: number;
  /** Encode one tile of bare glass and repeat it (for large benchmark slides). */
  reuseGlassTiles?: boolean;
  /** Aperio "JPEG/RGB" tiles (default), or YCbCr 4:4:4 tiles as newer scanners and libtiff write. */
  jpegColour?: 'rgb' | 'ycbcr';
}

export interface SyntheticSlide {
  path: string;
  width: number;
  height: number;
  mpp: number | null;
  tissue: SyntheticTissue;
  /** Sizes of the levels as written. */
  levels: { width: number; height: number }[];
}

const aperioHeader = 'Aperio Image Library v12.0.15';

async function* renderTiles(
  tissue: SyntheticTissue,
  level: { width: number; height: number; downsample: number },
  tileSize: number,
  encode: (rgb: Buffer) => Promise<Buffer>,
  reuseGlass = false,
): AsyncGenerator<Buffer> {
  const across = Math.ceil(level.width / tileSize);
  const down = Math.ceil(level.height / tileSize);
  const batch = 8;
  // Tiles of bare glass are all alike but for noise; when asked, one is encoded and repeated, which
  // makes gigapixel benchmark slides quick to write without changing how tissue tiles decode.
  let glass: Promise<Buffer> | undefined;
  for (let start = 0; start < across * down; start += batch) {
    const indices = Array.from({ length: Math.min(batch, across * down - start) }, (_, i) => start + i);
    const encoded = await Promise.all(
      indices.map((index) => {
        const x = (index % across) * tileSize;
        const y = Math.floor(index / across) * tileSize;
        const span = tileSize * level.downsample;
        if (reuseGlass && tissue.isBlankGlass(x * level.downsample, y * level.downsample, span, span)) {
          glass ??= encode(tissue.render(x, y, tileSize, tileSize, level.downsample));
          return glass;
        }
        return encode(tissue.render(x, y, tileSize, tileSize, level.downsample));
      }),
    );
    yield* encoded;
  }
}

/** An SVS laid out like a scanner writes it: level 0, thumbnail, lower levels, label, macro. */
export async function writeSyntheticSvs(path: string, spec: SyntheticSlideSpec): Promise<SyntheticSlide> {
  const tileSize = spec.tileSize ?? 240;
  const quality = spec.quality ?? 80;
  const mpp = spec.mpp ?? 0.25;
  const appMag = spec.appMag ?? 40;
  const tissue = new SyntheticTissue(spec.width, spec.height, spec.seed, spec);
  const downsamples = [1, ...(spec.downsamples ?? [4, 16])];
  const levels = downsamples.map((downsample) => ({
    width: Math.floor(spec.width / downsample),
    height: Math.floor(spec.height / downsample),
    downsample,
  }));
  const ycbcr = spec.jpegColour === 'ycbcr';
  const encoder = ycbcr ? encodeYcbcrTile : encodeAperioRgbTile;
  const photometric = ycbcr ? Photometric.YCbCr : Photometric.Rgb;
  const { tables } = await encoder(Buffer.alloc(16 * 16 * 3, 255), 16, 16, quality);
  const encode = async (rgb: Buffer, w = tileSize, h = tileSize) => (await encoder(rgb, w, h, quality)).tile;
  const common = `|AppMag = ${appMag}|StripeWidth = 2040|ScanScope ID = SS1234|Filename = synthetic-${spec.seed}|Date = 01/02/24|Time = 10:00:00|MPP = ${mpp.toFixed(4)}|Left = 25.0|Top = 23.0`;
  const levelPage = (level: (typeof levels)[number], index: number): TiffPageSpec => ({
    width: level.width,
    height: level.height,
    tile: { width: tileSize, height: tileSize },
    compression: Compression.Jpeg,
    photometric,
    ycbcrSubsampling: [1, 1],
    jpegTables: tables,
    description:
      index === 0
        ? `${aperioHeader} \r\n${spec.width}x${spec.height} [0,0 ${spec.width}x${spec.height}] (${tileSize}x${tileSize}) JPEG/${ycbcr ? 'YCC' : 'RGB'} Q=${quality}${common}`
        : `${aperioHeader} \r\n${spec.width}x${spec.height} [0,0 ${spec.width}x${spec.height}] (${tileSize}x${tileSize}) -> ${level.width}x${level.height} JPEG/${ycbcr ? 'YCC' : 'RGB'} Q=${quality}${common}`,
    chunks: renderTiles(tissue, level, tileSize, (rgb) => encode(rgb), spec.reuseGlassTiles),
  });

  const thumbnailDownsample = Math.max(spec.width / 768, spec.height / 768, 1);
  const thumbnail = {
    width: Math.round(spec.width / thumbnailDownsample),
    height: Math.round(spec.height / thumbnailDownsample),
    downsample: thumbnailDownsample,
  };
  const rowsPerStrip = 64;
  async function* thumbnailStrips(): AsyncGenerator<Buffer> {
    for (let top = 0; top < thumbnail.height; top += rowsPerStrip) {
      const rows = Math.min(rowsPerStrip, thumbnail.height - top);
      yield await encode(tissue.render(0, top, thumbnail.width, rows, thumbnail.downsample), thumbnail.width, rows);
    }
  }
  const label = await pageFromSharp(labelImage(spec.seed), { compression: 'lzw', predictor: 'horizontal' });
  const macro = await pageFromSharp(macroImage(tissue), { compression: 'jpeg', quality: 85 });

  const pages: TiffPageSpec[] = [
    levelPage(levels[0]!, 0),
    {
      width: thumbnail.width,
      height: thumbnail.height,
      rowsPerStrip,
      compression: Compression.Jpeg,
      photometric,
      ycbcrSubsampling: [1, 1],
      jpegTables: tables,
      description: `${aperioHeader} \r\n${spec.width}x${spec.height} -> ${thumbnail.width}x${thumbnail.height} - ${common}`,
      chunks: thumbnailStrips(),
    },
    ...levels.slice(1).map((level, i) => levelPage(level, i + 1)),
    { ...label, description: `${aperioHeader}\nlabel ${label.width}x${label.height}` },
    { ...macro, description: `${aperioHeader}\nmacro ${macro.width}x${macro.height}` },
  ];
  await writeTiff(path, pages, { bigTiff: spec.width * spec.height > 2e9 });
  return {
    path,
    width: spec.width,
    height: spec.height,
    mpp,
    tissue,
    levels: levels.map(({ width, height }) => ({ width, height })),
  };
}

function labelImage(seed: number): Sharp {
  const random = mulberry32(seed + 99);
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

function macroImage(tissue: SyntheticTissue): Sharp {
  const width = 600;
  const height = Math.round((600 * tissue.height) / tissue.width);
  const slide = tissue.render(0, 0, width, height, tissue.width / width);
  return sharp(slide, { raw: { width, height, channels: 3 } }).extend({ left: 150, background: '#c8c8c8' });
}

/** Encodes an image with libvips' TIFF writer and lifts out its strips and tags as a page. */
async function pageFromSharp(
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

export type PyramidLayout = 'pages' | 'subifds' | 'ome';

export interface PyramidOptions {
  compression?: 'jpeg' | 'lzw' | 'deflate';
  layout?: PyramidLayout;
  /** Write resolution tags (and OME PhysicalSize); false leaves the slide without mpp. */
  withResolution?: boolean;
}

/** A generic pyramidal tiled TIFF written by libvips (sharp), optionally rearranged as SubIFDs or OME-TIFF. */
export async function writeSyntheticPyramidTiff(
  path: string,
  spec: SyntheticSlideSpec,
  options: PyramidOptions = {},
): Promise<SyntheticSlide> {
  const tissue = new SyntheticTissue(spec.width, spec.height, spec.seed, spec);
  const mpp = spec.mpp ?? 0.5;
  const withResolution = options.withResolution ?? true;
  const tileSize = spec.tileSize ?? 256;
  const raw = tissue.render(0, 0, spec.width, spec.height, 1);
  const tiffOptions: TiffOptions = {
    tile: true,
    tileWidth: tileSize,
    tileHeight: tileSize,
    pyramid: true,
    compression: options.compression ?? 'jpeg',
  };
  if (options.compression === 'jpeg' || options.compression === undefined) tiffOptions.quality = spec.quality ?? 85;
  if (options.compression === 'lzw' || options.compression === 'deflate') tiffOptions.predictor = 'horizontal';
  if (withResolution) Object.assign(tiffOptions, { xres: 1000 / mpp, yres: 1000 / mpp, resolutionUnit: 'cm' });
  const pyramid = await sharp(raw, {
    raw: { width: spec.width, height: spec.height, channels: 3 },
    limitInputPixels: false,
  })
    .tiff(tiffOptions)
    .toBuffer();
  const structure = await parseTiff(bufferSource(pyramid));
  const images = structure.pages.map((page) => readTiffImage('memory', page));
  const result: SyntheticSlide = {
    path,
    width: spec.width,
    height: spec.height,
    mpp: withResolution ? mpp : null,
    tissue,
    levels: images.map(({ width, height }) => ({ width, height })),
  };
  const layout = options.layout ?? 'pages';
  if (layout === 'pages' && withResolution) {
    await writeFile(path, pyramid);
    return result;
  }
  // Rewritten with our writer: libvips always writes some resolution, even when none is known.
  const pages = images.map((image, index) => {
    const page = pageSpecFrom(image, structure, index, (i) =>
      pyramid.subarray(image.offsets[i], image.offsets[i]! + image.byteCounts[i]!),
    );
    if (!withResolution || layout === 'ome') delete page.resolution;
    return page;
  });
  if (layout === 'pages') {
    await writeTiff(
      path,
      pages.map((page, index) => ({ ...page, newSubfileType: index === 0 ? 0 : 1 })),
    );
    return result;
  }
  const [level0, ...rest] = pages;
  level0!.subIfds = rest.map((page) => ({ ...page, newSubfileType: 1 }));
  if (layout === 'ome') level0!.description = omeXml(spec, withResolution ? mpp : null);
  await writeTiff(path, [level0!], { bigTiff: true });
  return result;
}

function omeXml(spec: SyntheticSlideSpec, mpp: number | null): string {
  const size =
    mpp === null
      ? ''
      : ` PhysicalSizeX="${mpp * 1000}" PhysicalSizeXUnit="nm" PhysicalSizeY="${mpp * 1000}" PhysicalSizeYUnit="nm"`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">' +
    '<Instrument ID="Instrument:0"><Objective ID="Objective:0" NominalMagnification="20.0"/></Instrument>' +
    `<Image ID="Image:0" Name="synthetic"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint8" SizeX="${spec.width}" SizeY="${spec.height}" SizeC="3" SizeZ="1" SizeT="1"${size}>` +
    '<Channel ID="Channel:0:0" SamplesPerPixel="3"/><TiffData IFD="0" PlaneCount="1"/></Pixels></Image></OME>'
  );
}

/** Broken copies of a slide: each must fail with a typed error, never a crash. */
export async function writeBrokenVariants(
  source: string,
  dir: string,
): Promise<Record<'truncated' | 'corruptTile' | 'missingTile' | 'empty' | 'text', string>> {
  const bytes = await readFile(source);
  const truncated = `${dir}/truncated.svs`;
  await copyFile(source, truncated);
  await truncate(truncated, Math.floor(bytes.length * 0.6));

  const file = await RandomAccessFile.open(source);
  const level0 = readTiffImage(source, (await parseTiff(file)).pages[0]!);
  await file.close();
  const tile = busiestTile(level0);

  const corruptTile = `${dir}/corrupt-tile.svs`;
  const corrupted = Buffer.from(bytes);
  const random = mulberry32(7);
  const start = level0.offsets[tile]! + Math.floor(level0.byteCounts[tile]! * 0.3);
  for (let i = 0; i < Math.floor(level0.byteCounts[tile]! * 0.4); i++)
    corrupted[start + i] = Math.floor(random() * 256);
  await writeFile(corruptTile, corrupted);

  // A zero-length tile, as some Aperio encoders leave: the TileByteCounts entry is set to 0.
  const missingTile = `${dir}/missing-tile.svs`;
  await copyFile(source, missingTile);
  await zeroTileByteCount(missingTile, tile);

  const empty = `${dir}/empty.svs`;
  await writeFile(empty, Buffer.alloc(0));
  const text = `${dir}/notes.svs`;
  await writeFile(text, 'Patient slide notes: this is a text file, not a slide.\n'.repeat(20));
  return { truncated, corruptTile, missingTile, empty, text };
}

/** The level-0 tile with the most bytes, which lies in tissue. */
export function busiestTile(level0: TiffImage): number {
  let best = 0;
  level0.byteCounts.forEach((count, index) => {
    if (count > (level0.byteCounts[best] ?? 0)) best = index;
  });
  return best;
}

async function zeroTileByteCount(path: string, tile: number): Promise<void> {
  const file = await RandomAccessFile.open(path);
  const structure = await parseTiff(file);
  await file.close();
  // Classic little-endian TIFF from our writer: find the TileByteCounts entry of page 0.
  const handle = await open(path, 'r+');
  try {
    const ifd = structure.pages[0]!.offset;
    const count = Buffer.alloc(2);
    await handle.read(count, 0, 2, ifd);
    for (let i = 0; i < count.readUInt16LE(0); i++) {
      const entry = Buffer.alloc(12);
      await handle.read(entry, 0, 12, ifd + 2 + i * 12);
      if (entry.readUInt16LE(0) !== Tag.TileByteCounts) continue;
      const valuesAt = entry.readUInt32LE(8);
      await handle.write(Buffer.alloc(4), 0, 4, valuesAt + tile * 4);
    }
  } finally {
    await handle.close();
  }
}
