import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { seededRandom } from '../../activities/common/seeded-random.js';
import type { SlideReader } from '../../activities/wsi/slide-reader.js';
import {
  comparePixels,
  findOpenSlidePython,
  openSlideAssociatedImage,
  openSlideRegions,
  openSlideSkipReason,
  requirePython,
  type Region,
} from '../../infra/harness/openslide-reference.js';
import { writeSyntheticPyramidTiff, writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

const python = await findOpenSlidePython();
const skipOpenSlide = openSlideSkipReason(python);
const fixtures = resolve('../shared/fixtures/openslide');

let dir: string;
const slides: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-regions-'));
  slides.svs = (await writeSyntheticSvs(join(dir, 'slide.svs'), { width: 2900, height: 2100, seed: 21 })).path;
  slides.svsYcbcr = (
    await writeSyntheticSvs(join(dir, 'ycc.svs'), { width: 2500, height: 1900, seed: 25, jpegColour: 'ycbcr' })
  ).path;
  slides.jpegPyramid = (
    await writeSyntheticPyramidTiff(join(dir, 'jpeg.tif'), { width: 2300, height: 1700, seed: 22 })
  ).path;
  slides.lzwPyramid = (
    await writeSyntheticPyramidTiff(
      join(dir, 'lzw.tif'),
      { width: 1500, height: 1100, seed: 23 },
      { compression: 'lzw' },
    )
  ).path;
  slides.deflatePyramid = (
    await writeSyntheticPyramidTiff(
      join(dir, 'deflate.tif'),
      { width: 1500, height: 1100, seed: 24 },
      { compression: 'deflate' },
    )
  ).path;
  slides.smallSvs = join(fixtures, 'small.svs');
  slides.boxes = join(fixtures, 'boxes.tiff');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Random level-0 reads of 672×672 (some crossing the right or bottom edge), plus edge cases. */
function regionsFor(reader: SlideReader, seed: number): Region[] {
  const random = seededRandom(seed);
  const { width, height } = reader.levels[0]!;
  const size = Math.min(672, width, height);
  const regions: Region[] = [];
  for (let i = 0; i < 8; i++) {
    regions.push({
      level: 0,
      x: Math.floor(random() * (width - size / 2)),
      y: Math.floor(random() * (height - size / 2)),
      width: size,
      height: size,
    });
  }
  regions.push(
    { level: 0, x: width - 100, y: height - 60, width: 300, height: 200 }, // crosses both edges
    { level: 0, x: -37, y: -20, width: 150, height: 90 }, // starts before the origin
    { level: 0, x: width + 10, y: 0, width: 64, height: 64 }, // wholly outside
    { level: 0, x: 1, y: 3, width: 5, height: 7 },
  );
  // A lower level at a level-0 point that maps to a whole pixel there, where OpenSlide does not interpolate.
  const level = reader.levels.findIndex((l) => Number.isInteger(l.downsample) && l.downsample > 1);
  if (level > 0) {
    const ds = reader.levels[level]!.downsample;
    regions.push({
      level,
      x: ds * 17,
      y: ds * 9,
      width: Math.min(300, reader.levels[level]!.width),
      height: Math.min(200, reader.levels[level]!.height),
    });
  }
  return regions;
}

describe.skipIf(skipOpenSlide)('region reads equal OpenSlide read_region', () => {
  for (const name of ['svs', 'svsYcbcr', 'jpegPyramid', 'lzwPyramid', 'deflatePyramid', 'smallSvs', 'boxes']) {
    it(`${name}: random level-0 reads and reads across the edges`, async () => {
      const path = slides[name]!;
      const reader = await openSlide(path);
      try {
        const regions = regionsFor(reader, name.length * 7919);
        const reference = await openSlideRegions(requirePython(python), path, regions);
        for (const [i, region] of regions.entries()) {
          const ours = await reader.read(region.level, region.x, region.y, region.width, region.height);
          expect(ours.data.length).toBe(region.width * region.height * 3);
          const difference = comparePixels(ours.data, reference[i]!);
          const context = `${name} region ${JSON.stringify(region)}`;
          expect(difference.meanAbsolute, context).toBeLessThan(1);
          expect(difference.maximum, context).toBeLessThan(8);
          expect(difference.coverageMismatches, context).toBe(0);
          let transparent = 0;
          for (let p = 3; p < reference[i]!.length; p += 4) if (reference[i]![p] === 0) transparent++;
          expect(ours.outsidePixels, context).toBe(transparent);
        }
      } finally {
        await reader.close();
      }
    });
  }

  it('associated images equal OpenSlide’s', async () => {
    const reader = await openSlide(slides.svs!);
    try {
      expect(reader.associatedImages).toHaveLength(3);
      for (const { name, width, height } of reader.associatedImages) {
        const reference = await openSlideAssociatedImage(requirePython(python), slides.svs!, name);
        const ours = await reader.readAssociatedImage(name);
        expect([ours.width, ours.height]).toEqual([width, height]);
        const difference = comparePixels(ours.data, reference);
        expect(difference.meanAbsolute, name).toBeLessThan(1);
        expect(difference.maximum, name).toBeLessThan(8);
      }
    } finally {
      await reader.close();
    }
  });
});

describe('region reads', () => {
  it('read a plain PNG exactly, white outside', async () => {
    const raw = Buffer.alloc(40 * 30 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 31) % 251;
    const path = join(dir, 'plain.png');
    await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } })
      .png()
      .toFile(path);
    const reader = await openSlide(path);
    const region = await reader.read(0, 30, 20, 20, 20);
    expect(region.outsidePixels).toBe(400 - 100);
    expect(region.data.subarray(0, 3)).toEqual(raw.subarray((20 * 40 + 30) * 3, (20 * 40 + 30) * 3 + 3));
    expect(region.data.subarray(region.data.length - 3)).toEqual(Buffer.from([255, 255, 255]));
    await reader.close();
  });

  it('read compressions we do not decode ourselves (WebP tiles) through libvips', async () => {
    const raw = Buffer.alloc(700 * 500 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 13 + Math.floor(i / 2100) * 7) % 256;
    const path = join(dir, 'webp.tif');
    await sharp(raw, { raw: { width: 700, height: 500, channels: 3 } })
      .tiff({ tile: true, tileWidth: 256, tileHeight: 256, compression: 'webp' })
      .toFile(path);
    const reader = await openSlide(path);
    try {
      expect(reader.levels[0]).toMatchObject({ width: 700, height: 500, tileWidth: 256 });
      const region = await reader.read(0, 200, 150, 400, 300);
      const expected = await sharp(path).extract({ left: 200, top: 150, width: 400, height: 300 }).raw().toBuffer();
      expect(region.data.equals(expected)).toBe(true);
    } finally {
      await reader.close();
    }
  });

  it('reject invalid arguments as programming errors, not slide failures', async () => {
    const reader = await openSlide(slides.svs!);
    try {
      await expect(reader.read(7, 0, 0, 10, 10)).rejects.toThrow(RangeError);
      await expect(reader.read(0, 0.5, 0, 10, 10)).rejects.toThrow(RangeError);
      await expect(reader.read(0, 0, 0, 0, 10)).rejects.toThrow(RangeError);
    } finally {
      await reader.close();
    }
  });

  it('keep one file open and reuse decoded tiles across reads', async () => {
    const reader = await openSlide(slides.svs!);
    try {
      const first = await reader.read(0, 1000, 800, 672, 672);
      const again = await reader.read(0, 1000, 800, 672, 672);
      expect(again.data.equals(first.data)).toBe(true);
      const [a, b] = await Promise.all([reader.read(0, 500, 500, 300, 300), reader.read(0, 600, 600, 300, 300)]);
      expect(a.outsidePixels + b.outsidePixels).toBe(0);
    } finally {
      await reader.close();
    }
    await expect(reader.read(0, 0, 0, 10, 10)).rejects.toThrow(/closed/);
  });
});
