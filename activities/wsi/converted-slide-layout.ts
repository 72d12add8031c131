import { slideUnreadable } from './slide-errors.js';
import type { Microns } from './slide-reader.js';
import { readTiffImage, type TiffImage } from './tiff-image.js';
import type { TiffStructure } from './tiff-parser.js';
import type { TiffSlideLayout } from './tiff-slide-reader.js';

// The TIFF that slide-conversion writes: levels as pages in OpenSlide's order, then associated
// images, and in page 0's ImageDescription a marker line and a JSON record of what OpenSlide said
// about the source (vendor, downsamples, mpp, objective), which the pages alone cannot carry.

export const convertedSlideMarker = 'pathgen converted slide';

export interface ConvertedSlideInfo {
  version: 1;
  /** The source as converted; `fingerprint` is slide-fingerprint's (the cache file's name). */
  source: { path: string; fingerprint: string };
  vendor: string;
  mpp: Microns | null;
  objectivePower: number | null;
  downsamples: number[];
  associated: { name: string; page: number }[];
}

export function isConvertedSlide(page0: TiffImage): boolean {
  return page0.description.startsWith(`${convertedSlideMarker}\n`);
}

export function convertedSlideLayout(path: string, structure: TiffStructure): TiffSlideLayout {
  const page0 = readTiffImage(path, structure.pages[0]!);
  let info: ConvertedSlideInfo;
  try {
    info = JSON.parse(page0.description.slice(convertedSlideMarker.length + 1)) as ConvertedSlideInfo;
  } catch (error) {
    throw slideUnreadable(path, 'converted slide has a damaged description', {}, error);
  }
  const page = (index: number): TiffImage => {
    const directory = structure.pages[index];
    if (!directory) throw slideUnreadable(path, `converted slide lacks page ${index}`);
    return index === 0 ? page0 : readTiffImage(path, directory);
  };
  return {
    format: 'converted',
    vendor: info.vendor,
    levels: info.downsamples.map((downsample, index) => ({ image: page(index), downsample })),
    associated: info.associated.map(({ name, page: index }) => ({ name, image: page(index) })),
    mpp: info.mpp,
    objectivePower: info.objectivePower,
  };
}
