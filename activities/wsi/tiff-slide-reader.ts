import type { RandomAccessFile } from './random-access-file.js';
import { slideUnreadable } from './slide-errors.js';
import {
  assertRegionArguments,
  levelPoint,
  type AssociatedImageInfo,
  type Microns,
  type SlideFormat,
  type SlideLevel,
  type SlideReader,
} from './slide-reader.js';
import { TileCache } from './tile-cache.js';
import { createScaledTileDecoder, createTileDecoder, tileDecoderLabel } from './tile-decoders.js';
import { assertTilesInsideFile, type TiffImage } from './tiff-image.js';
import {
  readAssociatedRegion,
  scaledTileGrid,
  TiledImageRegion,
  type RegionRead,
  type RgbImage,
} from './tiled-image-region.js';

/** What a format module decides about a TIFF: which images are levels and which are associated. */
export interface TiffSlideLayout {
  format: SlideFormat;
  vendor: string;
  levels: { image: TiffImage; downsample: number }[];
  associated: { name: string; image: TiffImage }[];
  mpp: Microns | null;
  objectivePower: number | null;
}

export interface TiffSlideReaderOptions {
  tileCacheBytes: number;
  /** Pixel bound for associated images, which are not slide levels and get a real limit. */
  maxAssociatedPixels: number;
  /** For a converted slide, the path of the original (the file read is the converted copy). */
  sourcePath?: string;
}

export function createTiffSlideReader(
  file: RandomAccessFile,
  layout: TiffSlideLayout,
  options: TiffSlideReaderOptions,
): SlideReader {
  const path = file.path;
  if (layout.levels.length === 0) throw slideUnreadable(path, 'no image in the file can serve as a slide level');
  const cache = new TileCache(options.tileCacheBytes);
  const levelRegions = layout.levels.map(({ image }, index) => {
    assertTilesInsideFile(path, image, file.size);
    return new TiledImageRegion(
      file,
      image,
      createTileDecoder(path, image, { limitInputPixels: false }),
      cache,
      `level${index}`,
    );
  });
  // Scaled decodes of a level, built on first use; own cache keys, so full-size tiles never mix in.
  const scaledRegions = new Map<string, TiledImageRegion | undefined>();
  const scaledRegion = (level: number, scaleDenom: number): TiledImageRegion | undefined => {
    const key = `level${level}/${scaleDenom}`;
    if (!scaledRegions.has(key)) {
      const { image } = layout.levels[level]!;
      const decoder = createScaledTileDecoder(image, scaleDenom);
      scaledRegions.set(
        key,
        decoder && new TiledImageRegion(file, scaledTileGrid(image, scaleDenom), decoder, cache, key),
      );
    }
    return scaledRegions.get(key);
  };
  const associatedRegions = new Map<string, TiledImageRegion>();
  for (const { name, image } of layout.associated) {
    assertTilesInsideFile(path, image, file.size);
    const decoder = createTileDecoder(path, image, { limitInputPixels: options.maxAssociatedPixels });
    associatedRegions.set(name, new TiledImageRegion(file, image, decoder, cache, `associated:${name}`));
  }

  const levels: SlideLevel[] = layout.levels.map(({ image, downsample }) => {
    const level: SlideLevel = {
      width: image.width,
      height: image.height,
      downsample,
      tileWidth: image.tileWidth,
      tileHeight: image.tileHeight,
      page: image.page,
    };
    if (image.subIfd !== undefined) level.subIfd = image.subIfd;
    return level;
  });
  const associatedImages: AssociatedImageInfo[] = layout.associated.map(({ name, image }) => ({
    name,
    width: image.width,
    height: image.height,
  }));

  const reader: SlideReader = {
    path: options.sourcePath ?? path,
    format: layout.format,
    vendor: layout.vendor,
    levels,
    mpp: layout.mpp,
    objectivePower: layout.objectivePower,
    associatedImages,
    decoder: tileDecoderLabel(layout.levels[0]!.image),
    async read(level: number, x: number, y: number, width: number, height: number): Promise<RegionRead> {
      assertRegionArguments(reader, level, x, y, width, height);
      const point = levelPoint(levels, level, x, y);
      return levelRegions[level]!.read(point.x, point.y, width, height);
    },
    async readScaled(level, x, y, width, height, scaleDenom): Promise<RegionRead | undefined> {
      assertRegionArguments(reader, level, x, y, width, height);
      const region = scaledRegion(level, scaleDenom);
      if (!region) return undefined;
      const point = levelPoint(levels, level, x, y);
      const n = scaleDenom;
      return region.read(Math.floor(point.x / n), Math.floor(point.y / n), Math.ceil(width / n), Math.ceil(height / n));
    },
    async readAssociatedImage(name: string): Promise<RgbImage> {
      return readAssociatedRegion(path, associatedRegions, name, options.maxAssociatedPixels);
    },
    async close(): Promise<void> {
      cache.clear();
      await file.close();
    },
  };
  if (options.sourcePath !== undefined) Object.assign(reader, { convertedPath: path });
  return reader;
}
