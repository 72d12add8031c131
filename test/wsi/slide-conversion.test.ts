import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { defaultConverterPython } from '../../activities/wsi/openslide-stream.js';
import { runCommand } from '../../activities/wsi/run-command.js';
import { isSlideError } from '../../activities/wsi/slide-errors.js';
import { slideFingerprint } from '../../activities/wsi/slide-fingerprint.js';
import { slideMetadata, type SlideReader } from '../../activities/wsi/slide-reader.js';
import {
  comparePixels,
  findOpenSlide4Python,
  openSlide4Hint,
  openSlideMetadata,
  openSlideRegions,
  requirePython,
  type Region,
} from '../../infra/harness/openslide-reference.js';
import { writeVmu } from './hamamatsu-vmu.js';
import { hasVipsJp2k, writeJp2kSvsFrom } from './synthetic-jp2k-svs.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

// Formats we do not decode go through OpenSlide 4 (infra/openslide-convert.py in
// .tools/openslide-venv) once and are cached. The fixtures need vips (jp2ksave) and the reference
// is OpenSlide 4 in .tools/python-ref: in CI their absence fails these tests; locally it skips them.
// JPEG 2000 SVS is the main example: it converts only where the native decoder is missing, which
// this file makes so for its process (the decoder loads lazily, so setting this before any read counts).
process.env.PATHGEN_NATIVE_CODECS = '/nonexistent/pathgen-codecs.node';
const python = await findOpenSlide4Python();
const converter = defaultConverterPython();
const converterReady = (await runCommand(converter, ['-c', 'import openslide']).catch(() => undefined))?.code === 0;
const vips = await hasVipsJp2k();
const toolsMissing = !vips || python === undefined || !converterReady;
const skip =
  toolsMissing && !process.env.CI
    ? 'vips with jp2ksave, .tools/python-ref and .tools/openslide-venv are needed: run infra/install-tools.sh'
    : false;

let dir: string;
let jpegSvs: string;
let jp2kSvs: string;
let cacheDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-convert-'));
  cacheDir = join(dir, 'cache');
  jpegSvs = join(dir, 'jpeg.svs');
  jp2kSvs = join(dir, 'jp2k.svs');
  if (toolsMissing) return;
  await writeSyntheticSvs(jpegSvs, { width: 2400, height: 1900, seed: 71, mpp: 0.499, appMag: 20 });
  await writeJp2kSvsFrom(jpegSvs, jp2kSvs);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Our reader's metadata equals OpenSlide 4's for the source, and its pixels are within JPEG Q 98 of OpenSlide's. */
async function expectAsOpenSlide(reader: SlideReader, source: string, regions: Region[]): Promise<void> {
  const reference = await openSlideMetadata(requirePython(python, openSlide4Hint), source);
  const metadata = slideMetadata(reader);
  expect(metadata.vendor).toBe(reference.vendor);
  expect(metadata.levels.map((l) => [l.width, l.height])).toEqual(reference.dimensions);
  expect(metadata.levels.map((l) => l.downsample)).toEqual(reference.downsamples);
  expect(metadata.mpp).toEqual({ x: reference.mppX, y: reference.mppY });
  expect(metadata.objectivePower).toBe(reference.objectivePower);
  expect(metadata.associatedImages.map((a) => a.name).sort()).toEqual(Object.keys(reference.associated).sort());
  for (const [name, size] of Object.entries(reference.associated)) {
    const image = await reader.readAssociatedImage(name);
    expect([image.width, image.height], name).toEqual(size);
  }
  const expected = await openSlideRegions(requirePython(python, openSlide4Hint), source, regions);
  for (const [i, region] of regions.entries()) {
    const ours = await reader.read(region.level, region.x, region.y, region.width, region.height);
    const difference = comparePixels(ours.data, expected[i]!);
    expect(difference.meanAbsolute, JSON.stringify(region)).toBeLessThan(1);
    expect(difference.maximum, JSON.stringify(region)).toBeLessThan(8);
    expect(difference.coverageMismatches).toBe(0);
  }
}

const converting = async (cache: string): Promise<string[]> =>
  (await readdir(cache).catch(() => [] as string[])).filter((name) => name.startsWith('.converting'));

describe.skipIf(skip)('slides converted through OpenSlide 4', () => {
  it('needs the tools', () => {
    expect(vips, 'vips with openslideload and jp2ksave (infra/install-tools.sh)').toBe(true);
    expect(python, openSlide4Hint).toBeDefined();
    expect(converterReady, `${converter} imports openslide (infra/install-tools.sh)`).toBe(true);
  });

  it('converts a JPEG 2000 SVS once, under its fingerprint, and reports what OpenSlide 4 reports', async () => {
    const reader = await openSlide(jp2kSvs, { conversionCacheDir: cacheDir });
    try {
      expect(reader.format).toBe('converted');
      expect(reader.path).toBe(jp2kSvs);
      expect(reader.convertedPath).toBe(join(cacheDir, `${await slideFingerprint(jp2kSvs)}.tiff`));
      await expectAsOpenSlide(reader, jp2kSvs, [
        { level: 0, x: 300, y: 250, width: 672, height: 672 },
        { level: 0, x: 1500, y: 1100, width: 672, height: 672 },
        { level: 0, x: 2100, y: 1700, width: 400, height: 300 },
        { level: 1, x: 0, y: 0, width: 300, height: 250 },
        { level: 2, x: 0, y: 0, width: 150, height: 118 },
      ]);
      // Label and macro come from our own decoder (Aperio strips), as OpenSlide has them.
      const label = await reader.readAssociatedImage('label');
      expect([label.width, label.height]).toEqual([300, 280]);
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

  it('converts a Hamamatsu VMU, a format that is not TIFF, as OpenSlide 4 reads it', async () => {
    const source = await openSlide(jpegSvs);
    const width = 1000;
    const height = 700;
    const image = { ...(await source.read(0, 600, 500, width, height)), width, height };
    await source.close();
    const path = join(dir, 'vmu', 'slide.vmu');
    await mkdir(join(dir, 'vmu'));
    await writeVmu(path, {
      image,
      columnWidth: 200,
      map: { width: 250, height: 175 },
      macro: { width: 300, height: 100 },
      mpp: 0.456,
      objectivePower: 20,
    });
    const reader = await openSlide(path, { conversionCacheDir: cacheDir });
    try {
      expect(reader.format).toBe('converted');
      expect(reader.vendor).toBe('hamamatsu');
      expect(reader.levels.map((l) => l.downsample)).toEqual([1, 4]);
      await expectAsOpenSlide(reader, path, [
        { level: 0, x: 0, y: 0, width: 672, height: 672 },
        // Across tile edges, up to the level's right and bottom edges (where the copy's tiles are padded).
        { level: 0, x: 500, y: 200, width: 500, height: 500 },
        { level: 1, x: 0, y: 0, width: 250, height: 175 },
      ]);
    } finally {
      await reader.close();
    }
  });

  it('fails as UnsupportedFormat, naming infra/install-tools.sh, when the converter Python is missing', async () => {
    const elsewhere = join(dir, 'other-cache');
    const error = await openSlide(jp2kSvs, {
      conversionCacheDir: elsewhere,
      openSlidePython: join(dir, 'no-such-venv', 'bin', 'python'),
    }).catch((e: unknown) => e);
    expect(isSlideError(error, 'UnsupportedFormat')).toBe(true);
    expect((error as Error).message).toMatch(/JPEG 2000/);
    expect((error as Error).message).toMatch(/OpenSlide 4/);
    expect((error as Error).message).toMatch(/no-such-venv\/bin\/python does not exist/);
    expect((error as Error).message).toMatch(/infra\/install-tools\.sh/);
    await expect(stat(elsewhere)).rejects.toThrow();
  });

  it('fails as UnsupportedFormat, naming infra/install-tools.sh, with a Python without OpenSlide 4', async () => {
    // The system's Python has Debian's OpenSlide 3.4 (python3-openslide) or none: neither converts.
    const error = await openSlide(jp2kSvs, {
      conversionCacheDir: join(dir, 'old-openslide-cache'),
      openSlidePython: '/usr/bin/python3',
    }).catch((e: unknown) => e);
    expect(isSlideError(error, 'UnsupportedFormat')).toBe(true);
    expect((error as Error).message).toMatch(/needs OpenSlide 4, which does not load: .*infra\/install-tools\.sh/);
  });

  it('fails as UnsupportedFormat when conversion is turned off', async () => {
    const error = await openSlide(jp2kSvs, { allowConversion: false }).catch((e: unknown) => e);
    expect(isSlideError(error, 'UnsupportedFormat')).toBe(true);
  });

  it('a file named .mrxs that OpenSlide cannot open is SlideUnreadable with OpenSlide’s message', async () => {
    const path = join(dir, 'fake.mrxs');
    await writeFile(path, 'not a MIRAX index');
    const error = await openSlide(path, { conversionCacheDir: cacheDir }).catch((e: unknown) => e);
    expect(isSlideError(error, 'SlideUnreadable')).toBe(true);
    expect((error as Error).message).toMatch(/OpenSlide cannot open it: OpenSlide 4\.\S+ cannot open .*fake\.mrxs/);
    expect((error as Error).message).toMatch(/Unsupported or missing image file/);
    expect(await converting(cacheDir)).toEqual([]);
  });

  it('a conversion aborted midway leaves no cache file, and a later open converts', async () => {
    const cache = join(dir, 'abort-cache');
    const controller = new AbortController();
    let abortedAt: [number, number] | undefined;
    const error = await openSlide(jp2kSvs, {
      conversionCacheDir: cache,
      signal: controller.signal,
      onConversionProgress: (done, total) => {
        if (done * 2 < total || abortedAt) return;
        abortedAt = [done, total];
        controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(abortedAt).toBeDefined();
    expect(abortedAt![0]).toBeLessThan(abortedAt![1]);
    expect((error as Error).name).toBe('AbortError');
    expect(isSlideError(error)).toBe(false);
    expect(await readdir(cache)).toEqual([]);

    const reader = await openSlide(jp2kSvs, { conversionCacheDir: cache });
    try {
      expect(reader.convertedPath).toBe(join(cache, `${await slideFingerprint(jp2kSvs)}.tiff`));
      const region = { level: 0, x: 1800, y: 1500, width: 600, height: 400 };
      const [expected] = await openSlideRegions(requirePython(python, openSlide4Hint), jp2kSvs, [region]);
      const ours = await reader.read(region.level, region.x, region.y, region.width, region.height);
      expect(comparePixels(ours.data, expected!).maximum).toBeLessThan(8);
    } finally {
      await reader.close();
    }
    expect(await readdir(cache)).toHaveLength(1);
  });

  it('JPEG 2000 in a generic TIFF is UnsupportedFormat (OpenSlide cannot read it either)', async () => {
    const path = join(dir, 'generic-jp2k.tif');
    const result = await runCommand('vips', [
      'tiffsave',
      `${jpegSvs}[level=2]`,
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
