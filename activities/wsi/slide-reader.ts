import type { RegionRead, RgbImage } from './tiled-image-region.js';

export type { RegionRead, RgbImage } from './tiled-image-region.js';

/**
 * How pathgen reads the file: `aperio` (SVS), `generic-tiff` (a tiled TIFF pyramid, levels as pages
 * or SubIFDs), `ome-tiff`, `image` (a PNG, JPEG or untiled TIFF read as a one-level slide),
 * `dicom` (a DICOM whole-slide series, folder or instance file), or `converted` (a format only
 * OpenSlide reads, turned into a JPEG-tiled TIFF through OpenSlide 4 and cached).
 */
export type SlideFormat = 'aperio' | 'generic-tiff' | 'ome-tiff' | 'image' | 'dicom' | 'converted';

export interface SlideLevel {
  width: number;
  height: number;
  /** Level-0 pixels per pixel of this level, computed as OpenSlide does. */
  downsample: number;
  tileWidth: number;
  tileHeight: number;
  /** The TIFF page (index in the main IFD chain) that holds this level. */
  page: number;
  /** Present when the level is a SubIFD of `page`: its index among that page's SubIFDs. */
  subIfd?: number;
  /** DICOM: the instance file (name in the series folder) that holds this level; `page` is 0. */
  instance?: string;
}

export interface AssociatedImageInfo {
  name: string;
  width: number;
  height: number;
}

export interface Microns {
  x: number;
  y: number;
}

export interface SlideReader {
  readonly path: string;
  readonly format: SlideFormat;
  /** OpenSlide's vendor name where OpenSlide knows the format (aperio, generic-tiff, hamamatsu...). */
  readonly vendor: string;
  readonly levels: readonly SlideLevel[];
  /** Microns per level-0 pixel, or null when the file does not say. */
  readonly mpp: Microns | null;
  readonly objectivePower: number | null;
  readonly associatedImages: readonly AssociatedImageInfo[];
  /** For `converted` slides: the cached JPEG-tiled TIFF that pixels are actually read from. */
  readonly convertedPath?: string;
  /** Which decoder reads level 0's tiles, in words (e.g. "libjpeg-turbo (native)"). */
  readonly decoder?: string;

  /**
   * A region as packed RGB: `x`, `y` in level-0 pixels (as OpenSlide's read_region), `width` and
   * `height` in pixels of `level`. Areas outside the image are white and counted in `outsidePixels`.
   */
  read(level: number, x: number, y: number, width: number, height: number): Promise<RegionRead>;
  /**
   * The region `read` would return, with its JPEG tiles decoded at 1/`scaleDenom` (2, 4 or 8) in
   * libjpeg's DCT domain: ⌈width/n⌉ × ⌈height/n⌉ pixels from level pixel ⌊levelX/n⌋, ⌊levelY/n⌋ of
   * the scaled level (rounded down: the scaled pixel that holds the region's first level pixel).
   * Undefined where the level's tiles cannot be decoded so (not JPEG, no native codecs, tile sides
   * n does not divide): the caller reads exactly instead. Absent on readers that never can.
   */
  readScaled?(
    level: number,
    x: number,
    y: number,
    width: number,
    height: number,
    scaleDenom: number,
  ): Promise<RegionRead | undefined>;
  readAssociatedImage(name: string): Promise<RgbImage>;
  close(): Promise<void>;
}

export interface OpenSlideOptions {
  /** Where converted copies of slides sharp cannot decode are cached (default: a folder in the OS temp dir). */
  conversionCacheDir?: string;
  /** Set false to fail with UnsupportedFormat instead of converting. */
  allowConversion?: boolean;
  /**
   * The Python that runs infra/openslide-convert.py, with OpenSlide 4 (default
   * $PATHGEN_CONVERTER_PYTHON, else .tools/openslide-venv/bin/python, which infra/install-tools.sh makes).
   */
  openSlidePython?: string;
  /** Called as a conversion writes tiles: how many of the converted slide's tiles are done. */
  onConversionProgress?: (tilesDone: number, tilesTotal: number) => void;
  /** Bound on decoded tiles kept in memory (default 64 MiB). */
  tileCacheBytes?: number;
  /** Aborts a running conversion. */
  signal?: AbortSignal;
}

export interface SlideMetadata {
  format: SlideFormat;
  vendor: string;
  levels: SlideLevel[];
  mpp: Microns | null;
  objectivePower: number | null;
  associatedImages: AssociatedImageInfo[];
}

export function slideMetadata(reader: SlideReader): SlideMetadata {
  return {
    format: reader.format,
    vendor: reader.vendor,
    levels: reader.levels.map((level) => ({ ...level })),
    mpp: reader.mpp ? { ...reader.mpp } : null,
    objectivePower: reader.objectivePower,
    associatedImages: reader.associatedImages.map((image) => ({ ...image })),
  };
}

/** OpenSlide's downsample: the mean of the width and height ratios to level 0. */
export function openSlideDownsample(
  level0: { width: number; height: number },
  level: { width: number; height: number },
): number {
  return (level0.width / level.width + level0.height / level.height) / 2;
}

export function assertRegionArguments(
  reader: SlideReader,
  level: number,
  x: number,
  y: number,
  width: number,
  height: number,
): void {
  if (!Number.isInteger(level) || level < 0 || level >= reader.levels.length) {
    throw new RangeError(`level ${level} does not exist; the slide has ${reader.levels.length} levels`);
  }
  if (!Number.isSafeInteger(x) || !Number.isSafeInteger(y))
    throw new RangeError(`region origin ${x},${y} must be integers`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`region size ${width}×${height} must be positive integers`);
  }
  if (width * height > 1 << 28) throw new RangeError(`region ${width}×${height} is too large to read at once`);
}

/**
 * A level-0 point in `level`'s pixels. OpenSlide interpolates the sub-pixel remainder at levels
 * with non-integer downsamples; we take the nearest pixel.
 */
export function levelPoint(
  levels: readonly SlideLevel[],
  level: number,
  x: number,
  y: number,
): { x: number; y: number } {
  if (level === 0) return { x, y };
  const { downsample } = levels[level]!;
  return { x: Math.round(x / downsample), y: Math.round(y / downsample) };
}
