import { openSlideDownsample } from './slide-reader.js';
import { readTiffImage, type TiffImage } from './tiff-image.js';
import type { TiffStructure } from './tiff-parser.js';
import type { TiffSlideLayout } from './tiff-slide-reader.js';

// Aperio SVS, read the way OpenSlide reads it: every tiled page is a pyramid level, in file order;
// the stripped page right after level 0 is the thumbnail; the other stripped pages are associated
// images named by the first word of their description's second line ("label 415x422"). A page
// index is not a level index: the thumbnail sits between level 0 and level 1.

export function isAperio(page0: TiffImage): boolean {
  return page0.tiled && page0.description.startsWith('Aperio');
}

/** The `key = value` pairs after the first `|` of an Aperio ImageDescription; later keys win. */
export function parseAperioProperties(description: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const field of description.split('|').slice(1)) {
    const equals = field.indexOf('=');
    if (equals < 0) continue;
    properties.set(field.slice(0, equals).trim(), field.slice(equals + 1).trim());
  }
  return properties;
}

/** A number only when the whole value is one ("0.4990", "20"), as OpenSlide parses properties. */
export function parseWholeNumber(value: string | undefined): number | null {
  if (value === undefined || value.trim() === '') return null;
  const number = Number(value.trim());
  return Number.isFinite(number) ? number : null;
}

/** OpenSlide's rule: after the first line break, up to the first space ("label", "macro"). */
export function associatedImageName(description: string): string | undefined {
  const secondLine = description.split(/[\r\n]/)[1];
  const byOpenSlide = secondLine?.split(' ')[0];
  if (byOpenSlide) return byOpenSlide;
  // Files written with "\r\n" defeat that rule (the second "line" is empty); the word still names it.
  const named = /\b(label|macro|thumbnail)\b/i.exec(description);
  return named?.[1]?.toLowerCase();
}

export function aperioLayout(path: string, structure: TiffStructure): TiffSlideLayout {
  const images = structure.pages.map((page) => readTiffImage(path, page));
  const levelImages = images.filter((image) => image.tiled);
  const level0 = levelImages[0]!;
  const associated = new Map<string, TiffImage>();
  for (const image of images) {
    if (image.tiled) continue;
    const name = image.page === 1 ? 'thumbnail' : associatedImageName(image.description);
    if (name) associated.set(name, image);
  }
  const properties = parseAperioProperties(level0.description);
  const mpp = parseWholeNumber(properties.get('MPP'));
  return {
    format: 'aperio',
    vendor: 'aperio',
    levels: levelImages.map((image) => ({
      image,
      downsample: image === level0 ? 1 : openSlideDownsample(level0, image),
    })),
    associated: [...associated].map(([name, image]) => ({ name, image })),
    mpp: mpp !== null && mpp > 0 ? { x: mpp, y: mpp } : null,
    objectivePower: parseWholeNumber(properties.get('AppMag')),
  };
}
