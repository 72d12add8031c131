import sharp from 'sharp';
import { slideUnreadable, unsupportedFormat } from './slide-errors.js';
import { assertRegionArguments, type SlideReader } from './slide-reader.js';
import type { RegionRead, RgbImage } from './tiled-image-region.js';

// A PNG or JPEG read as a one-level slide. Such files have no tiles to seek to, so the image is
// decoded once, on the first read, and kept; past a size bound a pyramid is the only sane form.

export const maxPlainImagePixels = 256 * 1024 * 1024;

export async function openPlainImage(path: string, kind: 'png' | 'jpeg'): Promise<SlideReader> {
  let width: number;
  let height: number;
  try {
    const metadata = await sharp(path, { limitInputPixels: false }).metadata();
    width = metadata.width ?? 0;
    height = metadata.height ?? 0;
  } catch (error) {
    throw slideUnreadable(
      path,
      `cannot read ${kind.toUpperCase()} header: ${error instanceof Error ? error.message : String(error)}`,
      {},
      error,
    );
  }
  if (width <= 0 || height <= 0) throw slideUnreadable(path, `${kind.toUpperCase()} has no pixels`);
  if (width * height > maxPlainImagePixels) {
    throw unsupportedFormat(
      path,
      `a ${width}×${height} ${kind.toUpperCase()} is too large to read without a pyramid; convert it with ` +
        '`vips tiffsave IN OUT.tif --tile --pyramid --compression jpeg` first',
    );
  }

  let decoded: Promise<Buffer> | undefined;
  const pixels = (): Promise<Buffer> => {
    decoded ??= sharp(path, { limitInputPixels: false, failOn: 'warning' })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true })
      .then(({ data, info }) => {
        if (info.channels !== 3 || info.width !== width || info.height !== height)
          throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}`);
        return data;
      })
      .catch((error: unknown) => {
        decoded = undefined;
        throw slideUnreadable(
          path,
          `cannot decode ${kind.toUpperCase()}: ${error instanceof Error ? error.message : String(error)}`,
          {},
          error,
        );
      });
    return decoded;
  };

  const reader: SlideReader = {
    path,
    format: 'image',
    vendor: kind,
    levels: [{ width, height, downsample: 1, tileWidth: width, tileHeight: height, page: 0 }],
    mpp: null,
    objectivePower: null,
    associatedImages: [],
    async read(level: number, x: number, y: number, w: number, h: number): Promise<RegionRead> {
      assertRegionArguments(reader, level, x, y, w, h);
      const source = await pixels();
      const data = Buffer.alloc(w * h * 3, 255);
      const left = Math.max(x, 0);
      const right = Math.min(x + w, width);
      const top = Math.max(y, 0);
      const bottom = Math.min(y + h, height);
      let inside = 0;
      if (right > left && bottom > top) {
        inside = (right - left) * (bottom - top);
        for (let row = top; row < bottom; row++) {
          source.copy(data, ((row - y) * w + (left - x)) * 3, (row * width + left) * 3, (row * width + right) * 3);
        }
      }
      return { data, width: w, height: h, outsidePixels: w * h - inside };
    },
    readAssociatedImage(name: string): Promise<RgbImage> {
      return Promise.reject(new RangeError(`slide has no associated image "${name}"; plain images have none`));
    },
    close(): Promise<void> {
      decoded = undefined;
      return Promise.resolve();
    },
  };
  return reader;
}
