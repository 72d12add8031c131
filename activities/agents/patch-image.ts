import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { PathgenError } from '../common/errors.js';
import type { RgbImage } from '../wsi/slide-reader.js';

/** A patch as the agents take it: encoded bytes (JPEG, PNG, TIFF) or decoded pixels. */
export type PatchImage = Uint8Array | RgbImage;

export function isRgbImage(image: PatchImage): image is RgbImage {
  return !(image instanceof Uint8Array);
}

function open(image: PatchImage): ReturnType<typeof sharp> {
  return isRgbImage(image)
    ? sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    : sharp(image, { failOn: 'error' });
}

/** The patch as the vision model sees it: a JPEG fitted into `size` × `size`, as a data URL. */
export async function patchJpegDataUrl(image: PatchImage, options: { size: number; quality: number }): Promise<string> {
  try {
    const jpeg = await open(image)
      .removeAlpha()
      .resize(options.size, options.size, { fit: 'inside', kernel: 'cubic' })
      .jpeg({ quality: options.quality, chromaSubsampling: '4:4:4' })
      .toBuffer();
    return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
  } catch (error) {
    throw unreadable(error);
  }
}

/** The patch's pixels, for the built-in agents' measurements. */
export async function patchPixels(image: PatchImage): Promise<RgbImage> {
  if (isRgbImage(image)) return image;
  try {
    const { data, info } = await open(image)
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    return { data, width: info.width, height: info.height };
  } catch (error) {
    throw unreadable(error);
  }
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of the patch as given: its encoded bytes, or its size and pixels. */
export function patchSha256(image: PatchImage): string {
  if (!isRgbImage(image)) return sha256Hex(image);
  return createHash('sha256').update(`rgb:${image.width}x${image.height}:`).update(image.data).digest('hex');
}

function unreadable(error: unknown): PathgenError {
  const message = error instanceof Error ? error.message : String(error);
  return new PathgenError('InvalidInput', `the patch image cannot be decoded: ${message}`, {}, { cause: error });
}
