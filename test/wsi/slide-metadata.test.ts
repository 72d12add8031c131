import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { isSlideError } from '../../activities/wsi/slide-errors.js';
import { inspectSlide } from '../../activities/wsi/tissue-patch-plan.js';
import {
  findOpenSlidePython,
  openSlideMetadata,
  openSlideSkipReason,
  requirePython,
} from '../../infra/harness/openslide-reference.js';
import {
  writeSyntheticPyramidTiff,
  writeSyntheticSvs,
  type SyntheticSlide,
} from '../../workers/synthetic/slides/synthetic-slides.js';

const fixtures = resolve('../shared/fixtures/openslide');
const python = await findOpenSlidePython();
const skipOpenSlide = openSlideSkipReason(python);

let dir: string;
let svs: SyntheticSlide;
let pyramid: SyntheticSlide;
let subIfds: SyntheticSlide;
let ome: SyntheticSlide;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-metadata-'));
  svs = await writeSyntheticSvs(join(dir, 'slide.svs'), {
    width: 3000,
    height: 2200,
    seed: 3,
    mpp: 0.2527,
    appMag: 40,
  });
  pyramid = await writeSyntheticPyramidTiff(join(dir, 'pyramid.tif'), { width: 2600, height: 1800, seed: 4, mpp: 0.5 });
  subIfds = await writeSyntheticPyramidTiff(
    join(dir, 'subifds.tif'),
    { width: 2600, height: 1800, seed: 4, mpp: 0.5 },
    { layout: 'subifds' },
  );
  ome = await writeSyntheticPyramidTiff(
    join(dir, 'slide.ome.tif'),
    { width: 2600, height: 1800, seed: 4, mpp: 0.5 },
    { layout: 'ome' },
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('shared OpenSlide fixtures', () => {
  it('small.svs is an Aperio slide with OpenSlide’s mpp and objective', async () => {
    const metadata = await inspectSlide(join(fixtures, 'small.svs'));
    expect(metadata).toEqual({
      format: 'aperio',
      vendor: 'aperio',
      levels: [{ width: 16, height: 16, downsample: 1, tileWidth: 64, tileHeight: 64, page: 0 }],
      mpp: { x: 0.499, y: 0.499 },
      objectivePower: 20,
      associatedImages: [{ name: 'thumbnail', width: 16, height: 16 }],
    });
  });

  it('boxes.tiff is a generic pyramid of 4 levels with OpenSlide’s downsamples', async () => {
    const metadata = await inspectSlide(join(fixtures, 'boxes.tiff'));
    expect(metadata.format).toBe('generic-tiff');
    expect(metadata.levels.map((l) => [l.width, l.height, l.page])).toEqual([
      [300, 250, 0],
      [150, 125, 1],
      [75, 62, 2],
      [37, 31, 3],
    ]);
    expect(metadata.levels.map((l) => l.downsample)).toEqual([1, 2, 4.016129032258064, 8.086312118570184]);
    expect(metadata.associatedImages).toEqual([]);
  });

  it('unopenable.tiff fails at open with a typed, readable error', async () => {
    const error = await openSlide(join(fixtures, 'unopenable.tiff')).catch((e: unknown) => e);
    expect(isSlideError(error, 'UnsupportedFormat')).toBe(true);
    expect((error as Error).message).toMatch(/compression 52479/);
  });
});

describe('Aperio SVS layout', () => {
  it('takes only tiled pages as levels; thumbnail, label and macro are associated images', async () => {
    const reader = await openSlide(svs.path);
    try {
      expect(reader.format).toBe('aperio');
      expect(reader.vendor).toBe('aperio');
      expect(reader.levels.map((l) => [l.width, l.height])).toEqual(svs.levels.map((l) => [l.width, l.height]));
      // Page 1 is the thumbnail, so level 1 is page 2: a page index is not a level index.
      expect(reader.levels.map((l) => l.page)).toEqual([0, 2, 3]);
      expect(reader.levels.map((l) => l.tileWidth)).toEqual([240, 240, 240]);
      expect(reader.levels[1]!.downsample).toBe((3000 / 750 + 2200 / 550) / 2);
      expect(reader.levels[2]!.downsample).toBeCloseTo((3000 / 187 + 2200 / 137) / 2, 12);
      expect(reader.mpp).toEqual({ x: 0.2527, y: 0.2527 });
      expect(reader.objectivePower).toBe(40);
      expect(reader.associatedImages.map((a) => a.name).sort()).toEqual(['label', 'macro', 'thumbnail']);
      const label = await reader.readAssociatedImage('label');
      expect(label.data.length).toBe(label.width * label.height * 3);
      await expect(reader.readAssociatedImage('barcode')).rejects.toThrow(/no associated image "barcode"/);
    } finally {
      await reader.close();
    }
  });

  it.skipIf(skipOpenSlide)('reports what OpenSlide reports', async () => {
    const reference = await openSlideMetadata(requirePython(python), svs.path);
    const ours = await inspectSlide(svs.path);
    expect(ours.vendor).toBe(reference.vendor);
    expect(ours.levels.map((l) => [l.width, l.height])).toEqual(reference.dimensions);
    expect(ours.levels.map((l) => l.downsample)).toEqual(reference.downsamples);
    expect(ours.mpp).toEqual({ x: reference.mppX, y: reference.mppY });
    expect(ours.objectivePower).toBe(reference.objectivePower);
    expect(Object.fromEntries(ours.associatedImages.map((a) => [a.name, [a.width, a.height]]))).toEqual(
      reference.associated,
    );
  });
});

describe('generic and OME pyramids', () => {
  it('reads a pyramid of pages with mpp from the resolution tags', async () => {
    const metadata = await inspectSlide(pyramid.path);
    expect(metadata.format).toBe('generic-tiff');
    expect(metadata.levels.map((l) => [l.width, l.height])).toEqual(pyramid.levels.map((l) => [l.width, l.height]));
    expect(metadata.levels.map((l) => l.page)).toEqual(pyramid.levels.map((_, i) => i));
    expect(metadata.mpp!.x).toBeCloseTo(0.5, 6);
    expect(metadata.objectivePower).toBeNull();
  });

  it.skipIf(skipOpenSlide)('reports the levels and downsamples OpenSlide reports for a pyramid of pages', async () => {
    const reference = await openSlideMetadata(requirePython(python), pyramid.path);
    const ours = await inspectSlide(pyramid.path);
    expect(ours.vendor).toBe(reference.vendor);
    expect(ours.levels.map((l) => [l.width, l.height])).toEqual(reference.dimensions);
    expect(ours.levels.map((l) => l.downsample)).toEqual(reference.downsamples);
  });

  it('reads a pyramid of SubIFDs', async () => {
    const metadata = await inspectSlide(subIfds.path);
    expect(metadata.levels.map((l) => [l.width, l.height])).toEqual(subIfds.levels.map((l) => [l.width, l.height]));
    expect(metadata.levels.map((l) => [l.page, l.subIfd])).toEqual(
      [
        [0, undefined],
        [0, 0],
        [0, 1],
        [0, 2],
        [0, 3],
      ].slice(0, subIfds.levels.length),
    );
  });

  it('reads an OME-TIFF with the physical pixel size of its OME-XML', async () => {
    const metadata = await inspectSlide(ome.path);
    expect(metadata.format).toBe('ome-tiff');
    expect(metadata.levels).toHaveLength(ome.levels.length);
    expect(metadata.mpp!.x).toBeCloseTo(0.5, 9);
    expect(metadata.mpp!.y).toBeCloseTo(0.5, 9);
    expect(metadata.objectivePower).toBe(20);
  });

  it('leaves mpp null when the file does not say', async () => {
    const bare = await writeSyntheticPyramidTiff(
      join(dir, 'no-mpp.tif'),
      { width: 900, height: 700, seed: 5 },
      { withResolution: false },
    );
    const bareOme = await writeSyntheticPyramidTiff(
      join(dir, 'no-mpp.ome.tif'),
      { width: 900, height: 700, seed: 5 },
      { layout: 'ome', withResolution: false },
    );
    expect((await inspectSlide(bare.path)).mpp).toBeNull();
    expect((await inspectSlide(bareOme.path)).mpp).toBeNull();
  });
});

describe('plain images as one-level slides', () => {
  it('opens PNG, JPEG and untiled TIFF', async () => {
    const image = sharp({ create: { width: 300, height: 200, channels: 3, background: '#d08fb0' } });
    await image.clone().png().toFile(join(dir, 'plain.png'));
    await image.clone().jpeg().toFile(join(dir, 'plain.jpg'));
    await image
      .clone()
      .tiff({ compression: 'deflate', xres: 2, yres: 2, resolutionUnit: 'cm' })
      .toFile(join(dir, 'plain.tif'));
    for (const [name, vendor] of [
      ['plain.png', 'png'],
      ['plain.jpg', 'jpeg'],
      ['plain.tif', 'tiff'],
    ] as const) {
      const metadata = await inspectSlide(join(dir, name));
      expect(metadata).toMatchObject({ format: 'image', vendor, objectivePower: null, associatedImages: [] });
      expect(metadata.levels).toEqual([expect.objectContaining({ width: 300, height: 200, downsample: 1, page: 0 })]);
    }
    // 2 pixels per mm in the TIFF resolution tags: 500 µm per pixel.
    expect((await inspectSlide(join(dir, 'plain.tif'))).mpp!.x).toBeCloseTo(500, 6);
    expect((await inspectSlide(join(dir, 'plain.png'))).mpp).toBeNull();
  });
});
