import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import type { RgbImage } from '../../activities/wsi/slide-reader.js';

// A Hamamatsu VMU slide, the one OpenSlide format that is cheap to write: a key file naming two
// NGR files (uncompressed 12-bit RGB, stored in columns of `columnWidth` pixels; the image and a
// smaller map, which OpenSlide reads as levels 0 and 1) and a JPEG macro image. Not a TIFF, so
// pathgen only reads it through a conversion. Layout as openslide-vendor-hamamatsu.c reads it.

export interface VmuOptions {
  /** Level 0's pixels; its width must be a multiple of `columnWidth`. */
  image: RgbImage;
  columnWidth: number;
  /** Map (level 1) size; the image is resized to it. */
  map: { width: number; height: number };
  macro: { width: number; height: number };
  /** Microns per pixel at level 0, written as PhysicalWidth and PhysicalHeight in nanometres. */
  mpp: number;
  objectivePower: number;
}

const ngrHeaderBytes = 32;

/** An NGR file: "GN", then width, height and column width at 4, 8, 12, the data offset at 24. */
function ngr(image: RgbImage, columnWidth: number): Buffer {
  if (image.width % columnWidth !== 0) throw new Error(`width ${image.width} is not a multiple of ${columnWidth}`);
  const file = Buffer.alloc(ngrHeaderBytes + image.width * image.height * 6);
  file.write('GN', 0, 'latin1');
  file.writeInt32LE(image.width, 4);
  file.writeInt32LE(image.height, 8);
  file.writeInt32LE(columnWidth, 12);
  file.writeInt32LE(ngrHeaderBytes, 24);
  let at = ngrHeaderBytes;
  for (let column = 0; column < image.width; column += columnWidth)
    for (let y = 0; y < image.height; y++)
      for (let x = column; x < column + columnWidth; x++)
        for (let c = 0; c < 3; c++, at += 2) file.writeUInt16LE(image.data[(y * image.width + x) * 3 + c]! << 4, at);
  return file;
}

/** Writes `path` (ending .vmu) and its NGR and JPEG files beside it. */
export async function writeVmu(path: string, options: VmuOptions): Promise<void> {
  const stem = basename(path, '.vmu');
  const raw = (image: RgbImage): Sharp =>
    sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  const mapData = await raw(options.image).resize(options.map.width, options.map.height).raw().toBuffer();
  const map: RgbImage = { data: mapData, width: options.map.width, height: options.map.height };
  const macro = await raw(options.image)
    .resize(options.macro.width, options.macro.height, { fit: 'fill' })
    .jpeg({ quality: 90 })
    .toBuffer();
  await writeFile(join(dirname(path), `${stem}.ngr`), ngr(options.image, options.columnWidth));
  await writeFile(join(dirname(path), `${stem}-map.ngr`), ngr(map, map.width));
  await writeFile(join(dirname(path), `${stem}-macro.jpg`), macro);
  const nm = (pixels: number): number => Math.round(options.mpp * 1000 * pixels);
  await writeFile(
    path,
    [
      '[Uncompressed Virtual Microscope Specimen]',
      `ImageFile=${stem}.ngr`,
      `MapFile=${stem}-map.ngr`,
      `MacroImage=${stem}-macro.jpg`,
      'BitsPerPixel=36',
      'PixelOrder=RGB',
      `PhysicalWidth=${nm(options.image.width)}`,
      `PhysicalHeight=${nm(options.image.height)}`,
      `SourceLens=${options.objectivePower}`,
      '',
    ].join('\n'),
  );
}
