import { beforeAll, describe, expect, it } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';
import { preprocessBatch, preprocessImage, resizeForClip } from '../../activities/clip/preprocess.js';
import { openAiClipMean, openAiClipStd, type PreprocessSpec } from '../../activities/clip/preprocess-spec.js';
import type { RgbImage } from '../../activities/wsi/slide-reader.js';
import { seededRandom } from '../../activities/common/seeded-random.js';
import { findPilPython, pilClipResize, requirePil } from './pil-reference.js';

// Tolerances, against real PIL running open_clip's eval ops (resize, centre crop) on the same bytes:
//   - the resized 8-bit pixels: max abs difference 0 (bit-exact) in every case;
//   - the normalised floats: max abs difference ≤ 1e-6 from (v / 255 - mean) / std computed in
//     doubles from PIL's bytes (ours follows torch's float32 steps, so it differs by float32
//     rounding only, a few 1e-7 at most for CLIP's mean and std).
const byteTolerance = 0;
const floatTolerance = 1e-6;

function spec(imageSize: number, overrides: Partial<PreprocessSpec> = {}): PreprocessSpec {
  return {
    imageSize,
    mean: openAiClipMean,
    std: openAiClipStd,
    resizeMode: 'shortest',
    interpolation: 'bicubic',
    ...overrides,
  };
}

function image(width: number, height: number, pixel: (x: number, y: number, c: number) => number): RgbImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[i++] = pixel(x, y, c);
  }
  return { data, width, height };
}

function noise(width: number, height: number, seed: number): RgbImage {
  const next = seededRandom(seed);
  return image(width, height, () => Math.floor(next() * 256));
}

// Smooth, tissue-like colour fields with a seeded phase.
function gradient(width: number, height: number, seed: number): RgbImage {
  const phase = seededRandom(seed)() * 6;
  return image(width, height, (x, y, c) => {
    const u = x / width;
    const v = y / height;
    const value = 128 + 100 * Math.sin(phase + 3 * u + (c + 1) * 2 * v) + 20 * Math.cos(7 * u * v + c);
    return Math.max(0, Math.min(255, Math.round(value)));
  });
}

// Hard black/white edges: the bicubic overshoot is clipped at 0 and 255 in both passes.
function checker(width: number, height: number, cell: number): RgbImage {
  return image(width, height, (x, y, c) => ((Math.floor(x / cell) + Math.floor(y / cell) + c) % 2 === 0 ? 0 : 255));
}

interface ReferenceCase {
  name: string;
  image: RgbImage;
  spec: PreprocessSpec;
}

const cases: ReferenceCase[] = [
  { name: '672² noise → 336', image: noise(672, 672, 1), spec: spec(336) },
  { name: '672² gradient → 336', image: gradient(672, 672, 2), spec: spec(336) },
  { name: '672² checker → 336', image: checker(672, 672, 3), spec: spec(336) },
  { name: '700×500 noise → 336, crop columns', image: noise(700, 500, 4), spec: spec(336) },
  { name: '500×700 gradient → 336, crop rows', image: gradient(500, 700, 5), spec: spec(336) },
  { name: '1000×300 noise → 336', image: noise(1000, 300, 6), spec: spec(336) },
  { name: '600×40 gradient → 336 (upscale, wide)', image: gradient(600, 40, 7), spec: spec(336) },
  { name: '224² noise → 336 (upscale)', image: noise(224, 224, 8), spec: spec(336) },
  { name: '224² checker → 336 (upscale)', image: checker(224, 224, 1), spec: spec(336) },
  { name: '335×336 → 336, crop offset round(0.5) = 0', image: noise(335, 336, 9), spec: spec(336) },
  { name: '300×305 → 336, crop offset round(2.5) = 2', image: gradient(300, 305, 10), spec: spec(336) },
  { name: '1×1 → 336', image: noise(1, 1, 11), spec: spec(336) },
  { name: '336×500 → 336, crop only', image: noise(336, 500, 12), spec: spec(336) },
  { name: '336² → 336, identity', image: noise(336, 336, 13), spec: spec(336) },
  { name: '672² noise → 224', image: noise(672, 672, 14), spec: spec(224) },
  { name: '512² gradient → 336', image: gradient(512, 512, 15), spec: spec(336) },
  { name: '672² noise → 7 (wide filter)', image: noise(672, 672, 16), spec: spec(7) },
  { name: 'bilinear 672² noise → 336', image: noise(672, 672, 17), spec: spec(336, { interpolation: 'bilinear' }) },
  {
    name: 'bilinear 700×500 gradient → 336',
    image: gradient(700, 500, 18),
    spec: spec(336, { interpolation: 'bilinear' }),
  },
  { name: 'bilinear 224² noise → 336', image: noise(224, 224, 19), spec: spec(336, { interpolation: 'bilinear' }) },
  { name: 'squash 700×500 noise → 336', image: noise(700, 500, 20), spec: spec(336, { resizeMode: 'squash' }) },
  { name: 'squash 1000×300 gradient → 336', image: gradient(1000, 300, 21), spec: spec(336, { resizeMode: 'squash' }) },
  {
    name: 'squash bilinear 200×450 noise → 224',
    image: noise(200, 450, 22),
    spec: spec(224, { resizeMode: 'squash', interpolation: 'bilinear' }),
  },
  {
    name: 'squash 336×500 → 336 (one axis only)',
    image: noise(336, 500, 23),
    spec: spec(336, { resizeMode: 'squash' }),
  },
];

function maxByteDifference(ours: Uint8Array, theirs: Uint8Array): { maximum: number; differing: number } {
  let maximum = 0;
  let differing = 0;
  for (let i = 0; i < theirs.length; i++) {
    const difference = Math.abs(ours[i]! - theirs[i]!);
    if (difference > 0) differing++;
    if (difference > maximum) maximum = difference;
  }
  return { maximum, differing };
}

describe('CLIP preprocessing against PIL', () => {
  let references: Uint8Array[] = [];

  beforeAll(async () => {
    const { python } = requirePil(await findPilPython());
    references = await pilClipResize(
      python,
      cases.map((c) => c.image),
      cases.map((c) => c.spec),
    );
  });

  it.each(cases.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const { image: input, spec: s } = cases[i]!;
    const reference = references[i]!;
    const size = s.imageSize;

    const resized = resizeForClip(input, s);
    expect(resized.width).toBe(size);
    expect(resized.height).toBe(size);
    expect(resized.data.length).toBe(reference.length);
    expect(maxByteDifference(resized.data, reference)).toEqual({ maximum: byteTolerance, differing: 0 });

    const floats = preprocessImage(input, s);
    expect(floats.length).toBe(3 * size * size);
    const plane = size * size;
    let maximum = 0;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const expected = (reference[p * 3 + c]! / 255 - s.mean[c]!) / s.std[c]!;
        maximum = Math.max(maximum, Math.abs(floats[c * plane + p]! - expected));
      }
    }
    expect(maximum).toBeLessThanOrEqual(floatTolerance);
  });
});

describe('CLIP preprocessing layout', () => {
  // 64×64 with the identity resize: every output float maps back to one known input byte.
  const coded = image(64, 64, (x, y, c) => [x * 4, y * 4, (x + y) * 2][c]!);

  it('writes channels first: R plane, then G, then B, each row-major', () => {
    const out = preprocessImage(coded, spec(64, { mean: [0, 0, 0], std: [1, 1, 1] }));
    const plane = 64 * 64;
    for (const [x, y] of [
      [0, 0],
      [63, 0],
      [0, 63],
      [17, 42],
    ] as const) {
      expect(out[y * 64 + x]).toBe(Math.fround((x * 4) / 255));
      expect(out[plane + y * 64 + x]).toBe(Math.fround((y * 4) / 255));
      expect(out[2 * plane + y * 64 + x]).toBe(Math.fround(((x + y) * 2) / 255));
    }
  });

  it('subtracts each channel mean and divides by each channel std', () => {
    const flat = image(4, 4, (_x, _y, c) => [255, 0, 51][c]!);
    const s = spec(4, { mean: [0.5, 0.25, 0.2], std: [0.5, 0.25, 0.1] });
    const out = preprocessImage(flat, s);
    expect(Array.from(out.subarray(0, 16)).every((v) => v === 1)).toBe(true);
    expect(Array.from(out.subarray(16, 32)).every((v) => v === -1)).toBe(true);
    expect(Array.from(out.subarray(32, 48)).every((v) => Math.abs(v) < 1e-6)).toBe(true);
  });

  it('uses the OpenAI CLIP statistics it is given', () => {
    const black = image(2, 2, () => 0);
    const out = preprocessImage(black, spec(2));
    for (let c = 0; c < 3; c++) {
      expect(out[c * 4]).toBeCloseTo(-openAiClipMean[c]! / openAiClipStd[c]!, 6);
    }
  });

  it('batches images one after another, each equal to its own preprocessing', () => {
    const images = [noise(672, 672, 30), gradient(700, 500, 31), noise(224, 224, 32)];
    const s = spec(112);
    const length = 3 * 112 * 112;
    const batch = preprocessBatch(images, s);
    expect(batch.length).toBe(images.length * length);
    images.forEach((input, i) => {
      expect(Array.from(batch.subarray(i * length, (i + 1) * length))).toEqual(Array.from(preprocessImage(input, s)));
    });
    expect(preprocessBatch([], s).length).toBe(0);
  });

  it('writes at an offset into a caller array and leaves the rest alone', () => {
    const s = spec(16);
    const length = 3 * 16 * 16;
    const out = new Float32Array(length * 3).fill(Number.NaN);
    const returned = preprocessImage(gradient(40, 30, 33), s, out, length);
    expect(returned).toBe(out);
    expect(out.subarray(0, length).every(Number.isNaN)).toBe(true);
    expect(out.subarray(2 * length).every(Number.isNaN)).toBe(true);
    expect(Array.from(out.subarray(length, 2 * length))).toEqual(Array.from(preprocessImage(gradient(40, 30, 33), s)));
  });
});

describe('CLIP preprocessing rejects bad input', () => {
  const good = noise(8, 8, 40);
  const bad: [string, () => unknown][] = [
    ['zero width', () => preprocessImage({ data: Buffer.alloc(0), width: 0, height: 8 }, spec(4))],
    ['zero height', () => resizeForClip({ data: Buffer.alloc(0), width: 8, height: 0 }, spec(4))],
    ['fractional size', () => preprocessImage({ data: Buffer.alloc(12), width: 2.5, height: 2 }, spec(4))],
    ['short data', () => preprocessImage({ data: Buffer.alloc(8 * 8 * 3 - 1), width: 8, height: 8 }, spec(4))],
    ['long data', () => preprocessBatch([good, { data: Buffer.alloc(8 * 8 * 4), width: 8, height: 8 }], spec(4))],
    ['zero imageSize', () => preprocessImage(good, spec(0))],
    ['zero std', () => preprocessImage(good, spec(4, { std: [1, 0, 1] }))],
    ['NaN mean', () => preprocessBatch([good], spec(4, { mean: [0, Number.NaN, 0] }))],
    ['output too small', () => preprocessImage(good, spec(4), new Float32Array(47))],
    ['offset past the end', () => preprocessImage(good, spec(4), new Float32Array(96), 49)],
    ['negative offset', () => preprocessImage(good, spec(4), new Float32Array(96), -1)],
  ];

  function thrown(call: () => unknown): unknown {
    try {
      call();
    } catch (error) {
      return error;
    }
    return undefined;
  }

  it.each(bad)('%s', (_name, call) => {
    const error = thrown(call);
    expect(error).toBeInstanceOf(PathgenError);
    expect((error as PathgenError).code).toBe('InvalidInput');
  });
});
