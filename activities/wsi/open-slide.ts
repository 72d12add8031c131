import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { aperioLayout, isAperio } from './aperio-layout.js';
import { convertedSlideLayout, isConvertedSlide } from './converted-slide-layout.js';
import { openDicomSlide } from './dicom-slide-reader.js';
import { genericTiffLayout } from './generic-tiff-layout.js';
import { isOmeTiff, omeTiffLayout } from './ome-tiff-layout.js';
import { openPlainImage } from './plain-image-reader.js';
import { RandomAccessFile } from './random-access-file.js';
import { convertWithOpenSlide, type ConversionOptions } from './slide-conversion.js';
import { asSlideError, slideUnreadable, unsupportedFormat } from './slide-errors.js';
import type { OpenSlideOptions, RgbImage, SlideReader } from './slide-reader.js';
import { TileCache } from './tile-cache.js';
import { nativeCodecsMissing } from './native-codecs.js';
import { createTileDecoder, decodesNativelyWithCodecs, isJpeg2000 } from './tile-decoders.js';
import { TiledImageRegion } from './tiled-image-region.js';
import { readTiffImage, type TiffImage } from './tiff-image.js';
import { looksLikeTiff, parseTiff, type TiffStructure } from './tiff-parser.js';
import { createTiffSlideReader, type TiffSlideLayout } from './tiff-slide-reader.js';

// The one way to open a slide. It looks at the bytes, not the name, to pick a reader; the name only
// decides what kind of failure a file that is not what it claims to be gets.

const defaultTileCacheBytes = 64 * 1024 * 1024;
const maxAssociatedPixels = 100_000_000;
const openSlideOnlyExtensions = new Set(['.mrxs', '.vms', '.vmu', '.svslide', '.dcm']);
const tiffExtensions = new Set(['.svs', '.tif', '.tiff', '.ndpi', '.scn', '.bif', '.btf', '.tf8', '.qptiff']);
// TIFF-like vendor formats OpenSlide reads its own way; NDPI over 4 GB is not even valid TIFF.
const vendorTiffExtensions = new Map([
  ['.ndpi', 'a Hamamatsu NDPI slide'],
  ['.scn', 'a Leica SCN slide'],
  ['.bif', 'a Ventana BIF slide'],
]);
const xmpTag = 700;

export function defaultConversionCacheDir(): string {
  return join(tmpdir(), 'pathgen-converted-slides');
}

export async function openSlide(path: string, options: OpenSlideOptions = {}): Promise<SlideReader> {
  // A folder is a DICOM series: the one slide format that is not a single file.
  if ((await stat(path).catch(() => undefined))?.isDirectory()) return await openDicom(path, true, options);
  const file = await RandomAccessFile.open(path);
  let keepOpen = false;
  try {
    if (file.size === 0) throw slideUnreadable(path, 'file is empty');
    const head = await file.read(0, Math.min(512, file.size));
    const extension = extname(path).toLowerCase();

    if (looksLikeTiff(head)) {
      const vendor = vendorTiffExtensions.get(extension);
      if (vendor) return await openConverted(path, options, vendor);
      const structure = await parseTiff(file);
      const page0 = readTiffImage(path, structure.pages[0]!);
      const needs = conversionReason(path, structure, page0);
      if (needs) return await openConverted(path, options, needs, ownAssociatedImages(file, structure));
      const reader = createTiffSlideReader(file, tiffLayout(path, structure, page0), {
        tileCacheBytes: options.tileCacheBytes ?? defaultTileCacheBytes,
        maxAssociatedPixels,
      });
      keepOpen = true;
      return reader;
    }
    if (head[0] === 0x89 && head.toString('latin1', 1, 4) === 'PNG') return await openPlainImage(path, 'png');
    if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return await openPlainImage(path, 'jpeg');
    const dicom = head.length >= 132 && head.toString('latin1', 128, 132) === 'DICM';
    if (dicom) return await openDicom(path, false, options);
    if (openSlideOnlyExtensions.has(extension))
      return await openConverted(path, options, `a ${extension} slide, which only OpenSlide reads`);
    if (tiffExtensions.has(extension))
      throw slideUnreadable(path, `named ${extension} but is not a TIFF (no TIFF header)`);
    throw unsupportedFormat(
      path,
      'not a recognised slide format (not TIFF, PNG, JPEG, DICOM, or an OpenSlide format by name)',
    );
  } catch (error) {
    // A cancelled conversion is the caller's abort, not a fault of the slide.
    if (options.signal?.aborted) throw error;
    throw asSlideError(error, path, 'cannot open slide');
  } finally {
    if (!keepOpen) await file.close();
  }
}

async function openDicom(path: string, isFolder: boolean, options: OpenSlideOptions): Promise<SlideReader> {
  return openDicomSlide(path, isFolder, {
    tileCacheBytes: options.tileCacheBytes ?? defaultTileCacheBytes,
    maxAssociatedPixels,
  }).catch((error: unknown) => {
    throw asSlideError(error, path, 'cannot open DICOM slide');
  });
}

function tiffLayout(path: string, structure: TiffStructure, page0: TiffImage): TiffSlideLayout {
  if (isConvertedSlide(page0)) return convertedSlideLayout(path, structure);
  if (isAperio(page0)) return aperioLayout(path, structure);
  if (isOmeTiff(page0)) return omeTiffLayout(path, structure);
  return genericTiffLayout(path, structure);
}

/** Why a TIFF-like file must be converted through OpenSlide, or undefined when we read it ourselves. */
function conversionReason(path: string, structure: TiffStructure, page0: TiffImage): string | undefined {
  if (page0.ndpi) return 'a Hamamatsu NDPI slide';
  if (isAperio(page0)) {
    const images = structure.pages.map((page) => readTiffImage(path, page));
    // Without the native decoder (not built here), JPEG 2000 tiles still read, through a conversion.
    const jp2k = images.find(
      (image) => image.tiled && isJpeg2000(image.compression) && !decodesNativelyWithCodecs(image),
    );
    return jp2k
      ? `an Aperio SVS with JPEG 2000 tiles (compression ${jp2k.compression}) and no native decoder (${nativeCodecsMissing() ?? 'unknown colour space'})`
      : undefined;
  }
  const description = page0.description;
  if (description.startsWith('<?xml') && /leica/i.test(description)) return 'a Leica SCN slide';
  if (description.includes('DPUfsImport')) return 'a Philips TIFF slide';
  const xmp = structure.pages[0]?.tags.get(xmpTag);
  if (Buffer.isBuffer(xmp) && xmp.includes('iScan')) return 'a Ventana BIF slide';
  return undefined;
}

async function openConverted(
  path: string,
  options: OpenSlideOptions,
  reason: string,
  associated?: Map<string, () => Promise<RgbImage>>,
): Promise<SlideReader> {
  if (options.allowConversion === false) throw unsupportedFormat(path, `it is ${reason}, and conversion is turned off`);
  const conversion: ConversionOptions = {
    cacheDir: options.conversionCacheDir ?? defaultConversionCacheDir(),
    reason,
  };
  if (options.openSlidePython) conversion.python = options.openSlidePython;
  if (options.signal) conversion.signal = options.signal;
  if (options.onConversionProgress) conversion.onProgress = options.onConversionProgress;
  if (associated) conversion.associatedFromSource = associated;
  const converted = await convertWithOpenSlide(path, conversion);
  const file = await RandomAccessFile.open(converted);
  try {
    const structure = await parseTiff(file);
    const page0 = readTiffImage(converted, structure.pages[0]!);
    if (!isConvertedSlide(page0))
      throw slideUnreadable(path, `cached conversion ${converted} is not a converted slide`);
    return createTiffSlideReader(file, convertedSlideLayout(converted, structure), {
      tileCacheBytes: options.tileCacheBytes ?? defaultTileCacheBytes,
      maxAssociatedPixels,
      sourcePath: path,
    });
  } catch (error) {
    await file.close();
    throw error;
  }
}

/**
 * Associated images of an Aperio file whose levels need conversion are usually plain JPEG or LZW
 * strips we can decode ourselves (exactly as before OpenSlide 4, whose copies they would replace);
 * read them while the source is open.
 */
function ownAssociatedImages(file: RandomAccessFile, structure: TiffStructure): Map<string, () => Promise<RgbImage>> {
  const images = new Map<string, () => Promise<RgbImage>>();
  const page0 = readTiffImage(file.path, structure.pages[0]!);
  if (!isAperio(page0)) return images;
  const cache = new TileCache(maxAssociatedPixels * 3);
  for (const { name, image } of aperioAssociated(file.path, structure)) {
    images.set(name, async () => {
      if (image.width * image.height > maxAssociatedPixels) throw new Error('associated image too large');
      const decoder = createTileDecoder(file.path, image, { limitInputPixels: maxAssociatedPixels });
      const { data } = await new TiledImageRegion(file, image, decoder, cache, name).read(
        0,
        0,
        image.width,
        image.height,
      );
      return { data, width: image.width, height: image.height };
    });
  }
  return images;
}

function aperioAssociated(path: string, structure: TiffStructure): { name: string; image: TiffImage }[] {
  try {
    return aperioLayout(path, structure).associated;
  } catch {
    return [];
  }
}
