import type { SvsJpegColour } from './svs-jpeg-tiles.js';
import { copyFile, open, readFile, truncate, writeFile } from 'node:fs/promises';
import sharp, { type TiffOptions } from 'sharp';
import { RandomAccessFile } from '../../../activities/wsi/random-access-file.js';
import { readTiffImage, type TiffImage } from '../../../activities/wsi/tiff-image.js';
import { parseTiff, Tag } from '../../../activities/wsi/tiff-parser.js';
import { writeTiff } from '../../../activities/wsi/tiff-writer.js';
import { bufferSource, pageSpecFrom, writeAperioSvs, type AperioSvsOptions } from './aperio-svs-writer.js';
import { mulberry32, SyntheticTissue, type SyntheticTissueOptions } from './synthetic-tissue.js';

// The layout writer and its TIFF helpers live with the demo's slides; tests keep importing them here.
export { bufferSource, pageSpecFrom };

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
  jpegColour?: SvsJpegColour;
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

/** An SVS laid out like a scanner writes it: level 0, thumbnail, lower levels, label, macro. */
export async function writeSyntheticSvs(path: string, spec: SyntheticSlideSpec): Promise<SyntheticSlide> {
  const tissue = new SyntheticTissue(spec.width, spec.height, spec.seed, spec);
  const options: AperioSvsOptions = {
    width: spec.width,
    height: spec.height,
    filename: `synthetic-${spec.seed}`,
    labelSeed: spec.seed,
  };
  if (spec.tileSize !== undefined) options.tileSize = spec.tileSize;
  if (spec.quality !== undefined) options.quality = spec.quality;
  if (spec.mpp !== undefined) options.mpp = spec.mpp;
  if (spec.appMag !== undefined) options.appMag = spec.appMag;
  if (spec.downsamples !== undefined) options.downsamples = spec.downsamples;
  if (spec.reuseGlassTiles !== undefined) options.reuseGlassTiles = spec.reuseGlassTiles;
  if (spec.jpegColour !== undefined) options.jpegColour = spec.jpegColour;
  const levels = await writeAperioSvs(path, tissue, options);
  return {
    path,
    width: spec.width,
    height: spec.height,
    mpp: spec.mpp ?? 0.25,
    tissue,
    levels: levels.map(({ width, height }) => ({ width, height })),
  };
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
