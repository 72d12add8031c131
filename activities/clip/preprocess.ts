// open_clip's evaluation transform (image_transform with is_train=False) for our RgbImage patches:
// torchvision Resize on a PIL image, CenterCrop, ToTensor, Normalize. A model scores what it was
// trained to see only when its pixels match these to the byte, so the resize is PIL's own
// (pil-resample.ts) and the float steps follow torch's float32 order.
import { PathgenError } from '../common/errors.js';
import type { RgbImage } from '../wsi/slide-reader.js';
import { resampleRgbWindow, type Span } from './pil-resample.js';
import type { PreprocessSpec } from './preprocess-spec.js';

/** Where the resize goes and which part of it survives the crop. */
interface ResizePlan {
  width: number;
  height: number;
  columns: Span;
  rows: Span;
}

/**
 * The model's input for one image: 3×S×S floats, channels first, written at `out[offset]`
 * (a new array when `out` is absent). Returns `out`.
 */
export function preprocessImage(image: RgbImage, spec: PreprocessSpec, out?: Float32Array, offset = 0): Float32Array {
  checkSpec(spec);
  const size = spec.imageSize;
  const length = 3 * size * size;
  const target = out ?? new Float32Array(length);
  if (!Number.isInteger(offset) || offset < 0 || offset + length > target.length) {
    throw new PathgenError('InvalidInput', `cannot write ${length} floats at offset ${offset} of ${target.length}`, {
      offset,
      length,
      outLength: target.length,
    });
  }
  normalizeInto(resizePixels(image, spec), size, normalizationTable(spec), target, offset);
  return target;
}

/** The model's input for a batch: N×3×S×S floats. */
export function preprocessBatch(images: readonly RgbImage[], spec: PreprocessSpec): Float32Array {
  checkSpec(spec);
  const size = spec.imageSize;
  const length = 3 * size * size;
  const out = new Float32Array(images.length * length);
  const table = normalizationTable(spec);
  images.forEach((image, i) => normalizeInto(resizePixels(image, spec), size, table, out, i * length));
  return out;
}

/** The resized and cropped 8-bit pixels: what the PIL image holds just before ToTensor. */
export function resizeForClip(image: RgbImage, spec: PreprocessSpec): RgbImage {
  checkSpec(spec);
  const pixels = resizePixels(image, spec);
  return {
    data: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength),
    width: spec.imageSize,
    height: spec.imageSize,
  };
}

function resizePixels(image: RgbImage, spec: PreprocessSpec): Uint8Array {
  checkImage(image);
  const plan = planResize(image.width, image.height, spec);
  return resampleRgbWindow(
    image.data,
    image.width,
    image.height,
    plan.width,
    plan.height,
    plan.columns,
    plan.rows,
    spec.interpolation,
  );
}

function planResize(width: number, height: number, spec: PreprocessSpec): ResizePlan {
  const size = spec.imageSize;
  if (spec.resizeMode === 'squash') {
    return { width: size, height: size, columns: { start: 0, length: size }, rows: { start: 0, length: size } };
  }
  // torchvision's Resize(int): the short side becomes `size`, the long side int(size * long / short).
  const long = Math.trunc((size * Math.max(width, height)) / Math.min(width, height));
  const [resizedWidth, resizedHeight] = width <= height ? [size, long] : [long, size];
  return {
    width: resizedWidth,
    height: resizedHeight,
    columns: { start: cropStart(resizedWidth, size), length: size },
    rows: { start: cropStart(resizedHeight, size), length: size },
  };
}

// torchvision's CenterCrop: int(round((length - crop) / 2.0)), and Python rounds halves to even.
function cropStart(length: number, crop: number): number {
  const exact = (length - crop) / 2;
  const floor = Math.floor(exact);
  return exact - floor === 0.5 && floor % 2 === 0 ? floor : Math.round(exact);
}

/**
 * Per channel and byte value, ToTensor then Normalize in float32 as torch does them:
 * float32(v) / 255, minus float32(mean), divided by float32(std), each step rounded to float32.
 */
function normalizationTable(spec: PreprocessSpec): Float32Array {
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(spec.mean[c]!);
    const std = Math.fround(spec.std[c]!);
    for (let v = 0; v < 256; v++) table[c * 256 + v] = Math.fround(Math.fround(v / 255) - mean) / std;
  }
  return table;
}

function normalizeInto(pixels: Uint8Array, size: number, table: Float32Array, out: Float32Array, offset: number): void {
  const plane = size * size;
  for (let p = 0, i = 0; p < plane; p++, i += 3) {
    out[offset + p] = table[pixels[i]!]!;
    out[offset + plane + p] = table[256 + pixels[i + 1]!]!;
    out[offset + 2 * plane + p] = table[512 + pixels[i + 2]!]!;
  }
}

function checkImage(image: RgbImage): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new PathgenError('InvalidInput', `image size must be positive integers, got ${width}×${height}`, {
      width,
      height,
    });
  }
  if (data.length !== width * height * 3) {
    throw new PathgenError(
      'InvalidInput',
      `a ${width}×${height} RGB image needs ${width * height * 3} bytes, got ${data.length}`,
      { width, height, dataLength: data.length },
    );
  }
}

function checkSpec(spec: PreprocessSpec): void {
  if (!Number.isInteger(spec.imageSize) || spec.imageSize <= 0) {
    throw new PathgenError('InvalidInput', `imageSize must be a positive integer, got ${spec.imageSize}`, {
      imageSize: spec.imageSize,
    });
  }
  const badStd = spec.std.some((s) => !Number.isFinite(s) || s === 0);
  if (spec.mean.some((m) => !Number.isFinite(m)) || badStd) {
    throw new PathgenError('InvalidInput', 'mean must be finite and std finite and non-zero', {
      mean: [...spec.mean],
      std: [...spec.std],
    });
  }
  if (spec.resizeMode !== 'shortest' && spec.resizeMode !== 'squash') {
    throw new PathgenError('InvalidInput', `unknown resizeMode ${String(spec.resizeMode)}`);
  }
  if (spec.interpolation !== 'bicubic' && spec.interpolation !== 'bilinear') {
    throw new PathgenError('InvalidInput', `unknown interpolation ${String(spec.interpolation)}`);
  }
}
