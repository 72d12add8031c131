import { basename } from 'node:path';
import { dicomImage } from './dicom-level.js';
import { findDicomSeries } from './dicom-series.js';
import type { DicomInstance } from './dicom-instance.js';
import { RandomAccessFile } from './random-access-file.js';
import {
  assertRegionArguments,
  levelPoint,
  openSlideDownsample,
  type AssociatedImageInfo,
  type SlideLevel,
  type SlideReader,
} from './slide-reader.js';
import { TileCache } from './tile-cache.js';
import { readAssociatedRegion, TiledImageRegion, type RegionRead, type RgbImage } from './tiled-image-region.js';

// A DICOM whole-slide image (VL Whole Slide Microscopy Image IOD), given as a series folder or as
// one of its instance files: each level is one instance read through the same tiled path as a TIFF
// page, with one file handle per instance for the life of the reader. Metadata as OpenSlide 4's
// dicom vendor reports it: mpp from level 0's shared PixelSpacing, objective power from its first
// optical path.

export interface DicomSlideReaderOptions {
  tileCacheBytes: number;
  maxAssociatedPixels: number;
}

export async function openDicomSlide(
  path: string,
  isFolder: boolean,
  options: DicomSlideReaderOptions,
): Promise<SlideReader> {
  const series = await findDicomSeries(path, isFolder);
  const files: RandomAccessFile[] = [];
  const opened = async (instance: DicomInstance) => {
    const file = await RandomAccessFile.open(instance.path);
    files.push(file);
    return file;
  };
  try {
    const cache = new TileCache(options.tileCacheBytes);
    const regions: TiledImageRegion[] = [];
    let decoder = '';
    for (const [index, instance] of series.levels.entries()) {
      const file = await opened(instance);
      const image = await dicomImage(file, instance);
      if (index === 0) decoder = image.decoderName;
      regions.push(new TiledImageRegion(file, image.grid, image.decoder, cache, `level${index}`, image.describeTile));
    }
    const associatedRegions = new Map<string, TiledImageRegion>();
    for (const { name, instance } of series.associated) {
      const file = await opened(instance);
      const image = await dicomImage(file, instance);
      associatedRegions.set(
        name,
        new TiledImageRegion(file, image.grid, image.decoder, cache, `associated:${name}`, image.describeTile),
      );
    }
    const level0 = series.levels[0]!;
    const levels: SlideLevel[] = series.levels.map((instance) => ({
      width: instance.width,
      height: instance.height,
      downsample: openSlideDownsample(level0, instance),
      tileWidth: instance.tileWidth,
      tileHeight: instance.tileHeight,
      page: 0,
      instance: basename(instance.path),
    }));
    const associatedImages: AssociatedImageInfo[] = series.associated.map(({ name, instance }) => ({
      name,
      width: instance.width,
      height: instance.height,
    }));
    // PixelSpacing is row spacing, then column spacing, in mm.
    const spacing = level0.pixelSpacing;
    const reader: SlideReader = {
      path,
      format: 'dicom',
      vendor: 'dicom',
      levels,
      mpp: spacing ? { x: spacing[1] * 1000, y: spacing[0] * 1000 } : null,
      objectivePower: level0.objectivePower ?? null,
      associatedImages,
      decoder,
      async read(level: number, x: number, y: number, width: number, height: number): Promise<RegionRead> {
        assertRegionArguments(reader, level, x, y, width, height);
        const point = levelPoint(levels, level, x, y);
        return regions[level]!.read(point.x, point.y, width, height);
      },
      async readAssociatedImage(name: string): Promise<RgbImage> {
        return readAssociatedRegion(path, associatedRegions, name, options.maxAssociatedPixels);
      },
      async close(): Promise<void> {
        cache.clear();
        await Promise.all(files.map((file) => file.close()));
      },
    };
    return reader;
  } catch (error) {
    await Promise.all(files.map((file) => file.close()));
    throw error;
  }
}
