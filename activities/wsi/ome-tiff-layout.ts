import { withDownsamples, subIfdPyramid } from './generic-tiff-layout.js';
import { readTiffImage, type TiffImage } from './tiff-image.js';
import type { TiffStructure } from './tiff-parser.js';
import type { TiffSlideLayout } from './tiff-slide-reader.js';

// OME-TIFF: the OME-XML in page 0's ImageDescription describes the images; the first is the slide,
// whose pyramid is page 0 and its SubIFDs (or, in older writers, reduced pages of the main chain).
// Physical pixel size comes from the XML, not from the TIFF resolution tags.

const micronsPerUnit: Record<string, number> = {
  Å: 1e-4,
  pm: 1e-6,
  nm: 1e-3,
  µm: 1,
  μm: 1,
  um: 1,
  mm: 1e3,
  cm: 1e4,
  dm: 1e5,
  m: 1e6,
  in: 25_400,
  mil: 25.4,
};

export function isOmeTiff(page0: TiffImage): boolean {
  return /<(\w+:)?OME[\s>]/.test(page0.description);
}

function attributes(tag: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of tag.matchAll(/([\w:]+)\s*=\s*"([^"]*)"/g)) found.set(match[1]!.replace(/^\w+:/, ''), match[2]!);
  return found;
}

interface OmeImage {
  name: string;
  pixels: Map<string, string>;
  firstIfd: number;
}

export function parseOmeImages(xml: string): OmeImage[] {
  const images: OmeImage[] = [];
  for (const block of xml.matchAll(/<(?:\w+:)?Image\b([^>]*)>([\s\S]*?)<\/(?:\w+:)?Image>/g)) {
    const pixelsTag = /<(?:\w+:)?Pixels\b([^>]*)>/.exec(block[2]!);
    const tiffData = /<(?:\w+:)?TiffData\b([^>]*)\/?>/.exec(block[2]!);
    images.push({
      name: attributes(block[1]!).get('Name') ?? '',
      pixels: attributes(pixelsTag?.[1] ?? ''),
      firstIfd: Number(attributes(tiffData?.[1] ?? '').get('IFD') ?? images.length),
    });
  }
  return images;
}

function physicalSize(pixels: Map<string, string>, axis: 'X' | 'Y'): number | null {
  const value = Number(pixels.get(`PhysicalSize${axis}`));
  const factor = micronsPerUnit[pixels.get(`PhysicalSize${axis}Unit`) ?? 'µm'];
  if (!Number.isFinite(value) || value <= 0 || factor === undefined) return null;
  return value * factor;
}

export function omeTiffLayout(path: string, structure: TiffStructure): TiffSlideLayout {
  const page0 = readTiffImage(path, structure.pages[0]!);
  const xml = page0.description;
  const images = parseOmeImages(xml);
  const main = images[0];
  const x = main ? physicalSize(main.pixels, 'X') : null;
  const y = main ? physicalSize(main.pixels, 'Y') : null;
  const magnification = /<(?:\w+:)?Objective\b[^>]*\bNominalMagnification\s*=\s*"([^"]+)"/.exec(xml)?.[1];

  const levels = subIfdPyramid(path, structure, page0) ?? [
    page0,
    ...structure.pages
      .slice(1)
      .map((d) => readTiffImage(path, d))
      .filter((i) => i.tiled && (i.newSubfileType & 1) !== 0),
  ];
  const associated: { name: string; image: TiffImage }[] = [];
  for (const image of images.slice(1)) {
    const name = /label|macro|thumbnail/i.exec(image.name)?.[0]?.toLowerCase();
    const directory = structure.pages[image.firstIfd];
    if (name && directory && !associated.some((a) => a.name === name))
      associated.push({ name, image: readTiffImage(path, directory) });
  }
  const objective = Number(magnification);
  return {
    format: 'ome-tiff',
    vendor: 'ome-tiff',
    levels: withDownsamples(levels),
    associated,
    mpp: x !== null && y !== null ? { x, y } : null,
    objectivePower: Number.isFinite(objective) && objective > 0 ? objective : null,
  };
}
