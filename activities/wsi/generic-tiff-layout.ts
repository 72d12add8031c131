import { openSlideDownsample } from './slide-reader.js';
import { mppFromResolution, readTiffImage, type TiffImage } from './tiff-image.js';
import type { TiffStructure } from './tiff-parser.js';
import type { TiffSlideLayout } from './tiff-slide-reader.js';

// A TIFF that no vendor claims. Tiled: a pyramid, either as SubIFDs of page 0 (how vips and
// OME-TIFF write them) or as pages of the main chain, where OpenSlide counts page 0 and every tiled
// page marked "reduced resolution" (NewSubfileType bit 0) and orders them by width. Untiled: a
// plain one-level image whose strips serve as full-width tiles.

const reducedResolution = 1;

export function withDownsamples(levels: TiffImage[]): { image: TiffImage; downsample: number }[] {
  const sorted = [...levels].sort((a, b) => b.width - a.width);
  const level0 = sorted[0]!;
  return sorted.map((image) => ({ image, downsample: image === level0 ? 1 : openSlideDownsample(level0, image) }));
}

/** Page 0 and its tiled, smaller SubIFDs, when page 0 has any; otherwise undefined. */
export function subIfdPyramid(path: string, structure: TiffStructure, page0: TiffImage): TiffImage[] | undefined {
  const subs = (structure.pages[0]?.subIfds ?? [])
    .map((directory) => readTiffImage(path, directory))
    .filter((image) => image.tiled && image.width < page0.width);
  return subs.length > 0 ? [page0, ...subs] : undefined;
}

export function genericTiffLayout(path: string, structure: TiffStructure): TiffSlideLayout {
  const page0 = readTiffImage(path, structure.pages[0]!);
  const mpp = mppFromResolution(page0);
  if (!page0.tiled) {
    return {
      format: 'image',
      vendor: 'tiff',
      levels: [{ image: page0, downsample: 1 }],
      associated: [],
      mpp,
      objectivePower: null,
    };
  }
  const fromSubIfds = subIfdPyramid(path, structure, page0);
  const levels =
    fromSubIfds ??
    structure.pages
      .map((directory, index) => (index === 0 ? page0 : readTiffImage(path, directory)))
      .filter((image) => image.tiled && (image.page === 0 || (image.newSubfileType & reducedResolution) !== 0));
  return {
    format: 'generic-tiff',
    vendor: 'generic-tiff',
    levels: withDownsamples(levels),
    associated: [],
    mpp,
    objectivePower: null,
  };
}
