import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { runCommand } from '../../activities/wsi/run-command.js';
import { isSlideError } from '../../activities/wsi/slide-errors.js';
import { slideMetadata } from '../../activities/wsi/slide-reader.js';
import {
  comparePixels,
  findOpenSlidePython,
  openSlideMetadata,
  openSlideRegions,
  requirePython,
} from '../../infra/harness/openslide-reference.js';
import { hasVipsJp2k, writeJp2kSvsFrom } from './synthetic-jp2k-svs.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

// Formats sharp cannot decode go through `vips` (with OpenSlide) once and are cached. Needs the vips
// CLI and python3-openslide: in CI their absence fails these tests; locally it skips them.
const python = await findOpenSlidePython();
const vips = await hasVipsJp2k();
const toolsMissing = !vips || python === undefined;
const skip =
  toolsMissing && !process.env.CI
    ? 'vips with OpenSlide and python3-openslide are needed: run infra/install-tools.sh'
    : false;

let dir: string;
let jp2kSvs: string;
let cacheDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-convert-'));
  cacheDir = join(dir, 'cache');
  jp2kSvs = join(dir, 'jp2k.svs');
  if (toolsMissing) return;
  const jpeg = await writeSyntheticSvs(join(dir, 'jpeg.svs'), {
    width: 2400,
    height: 1900,
    seed: 71,
    mpp: 0.499,
    appMag: 20,
  });
  await writeJp2kSvsFrom(jpeg.path, jp2kSvs);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('JPEG 2000 Aperio slides through vips and OpenSlide', () => {
  it('needs the tools', () => {
    expect(vips, 'vips with openslideload and jp2ksave (infra/install-tools.sh)').toBe(true);
    expect(python, 'python3-openslide (infra/install-tools.sh)').toBeDefined();
  });

  it('converts once into the cache and reports what OpenSlide reports', async () => {
    const reader = await openSlide(jp2kSvs, { conversionCacheDir: cacheDir });
    const reference = await openSlideMetadata(requirePython(python), jp2kSvs);
    try {
      expect(reader.format).toBe('converted');
      expect(reader.path).toBe(jp2kSvs);
      expect(reader.convertedPath!.startsWith(cacheDir)).toBe(true);
      const metadata = slideMetadata(reader);
      expect(metadata.vendor).toBe(reference.vendor);
      expect(metadata.levels.map((l) => [l.width, l.height])).toEqual(reference.dimensions);
      expect(metadata.levels.map((l) => l.downsample)).toEqual(reference.downsamples);
      expect(metadata.mpp).toEqual({ x: reference.mppX, y: reference.mppY });
      expect(metadata.objectivePower).toBe(reference.objectivePower);
      expect(metadata.associatedImages.map((a) => a.name).sort()).toEqual(Object.keys(reference.associated).sort());
      const label = await reader.readAssociatedImage('label');
      expect([label.width, label.height]).toEqual(reference.associated.label);
    } finally {
      await reader.close();
    }

    const converted = (await readdir(cacheDir)).filter((name) => name.endsWith('.tiff'));
    expect(converted).toHaveLength(1);
    const before = await stat(join(cacheDir, converted[0]!));
    const again = await openSlide(jp2kSvs, { conversionCacheDir: cacheDir });
    await again.close();
    expect((await stat(join(cacheDir, converted[0]!))).mtimeMs).toBe(before.mtimeMs);
    expect(await readdir(cacheDir)).toEqual(converted);
  });

  it('reads pixels equal to OpenSlide’s', async () => {
    const reader = await openSlide(jp2kSvs, { conversionCacheDir: cacheDir });
    const regions = [
      { level: 0, x: 300, y: 250, width: 672, height: 672 },
      { level: 0, x: 1500, y: 1100, width: 672, height: 672 },
      { level: 0, x: 2100, y: 1700, width: 400, height: 300 },
      { level: 1, x: 0, y: 0, width: 300, height: 250 },
    ];
    try {
      const reference = await openSlideRegions(requirePython(python), jp2kSvs, regions);
      for (const [i, region] of regions.entries()) {
        const ours = await reader.read(region.level, region.x, region.y, region.width, region.height);
        const difference = comparePixels(ours.data, reference[i]!);
        expect(difference.meanAbsolute, JSON.stringify(region)).toBeLessThan(1);
        expect(difference.maximum, JSON.stringify(region)).toBeLessThan(8);
        expect(difference.coverageMismatches).toBe(0);
      }
    } finally {
      await reader.close();
    }
  });

  it('fails as UnsupportedFormat, naming what to install, when vips is missing', async () => {
    const elsewhere = join(dir, 'other-cache');
    const error = await openSlide(jp2kSvs, {
      conversionCacheDir: elsewhere,
      vipsCommand: join(dir, 'no-such-vips'),
    }).catch((e: unknown) => e);
    expect(isSlideError(error, 'UnsupportedFormat')).toBe(true);
    expect((error as Error).message).toMatch(/JPEG 2000/);
    expect((error as Error).message).toMatch(/apt-get install libvips-tools/);
    expect((error as Error).message).toMatch(/infra\/install-tools\.sh/);
    await expect(stat(elsewhere)).rejects.toThrow();
  });

  it('fails as UnsupportedFormat when conversion is turned off', async () => {
    const error = await openSlide(jp2kSvs, { allowConversion: false }).catch((e: unknown) => e);
    expect(isSlideError(error, 'UnsupportedFormat')).toBe(true);
  });

  it('a file named .mrxs that OpenSlide cannot open is SlideUnreadable', async () => {
    const path = join(dir, 'fake.mrxs');
    await writeFile(path, 'not a MIRAX index');
    const error = await openSlide(path, { conversionCacheDir: cacheDir }).catch((e: unknown) => e);
    expect(isSlideError(error, 'SlideUnreadable')).toBe(true);
    expect((await readdir(cacheDir)).filter((name) => name.startsWith('.converting'))).toEqual([]);
  });

  it('JPEG 2000 in a generic TIFF is UnsupportedFormat (OpenSlide cannot read it either)', async () => {
    const path = join(dir, 'generic-jp2k.tif');
    const source = join(dir, 'jpeg.svs');
    const result = await runCommand('vips', [
      'tiffsave',
      `${source}[level=2]`,
      path,
      '--tile',
      '--compression',
      'jp2k',
    ]);
    expect(result.code).toBe(0);
    const error = await openSlide(path).catch((e: unknown) => e);
    expect(isSlideError(error, 'UnsupportedFormat')).toBe(true);
    expect((error as Error).message).toMatch(/JPEG 2000/);
  });
});
