import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { RandomAccessFile } from '../../activities/wsi/random-access-file.js';
import { isSlideError, type SlideErrorCode } from '../../activities/wsi/slide-errors.js';
import { Compression, Photometric, readTiffImage } from '../../activities/wsi/tiff-image.js';
import { parseTiff } from '../../activities/wsi/tiff-parser.js';
import { writeTiff } from '../../activities/wsi/tiff-writer.js';
import { tileSlideToDirectory } from '../../activities/wsi/tissue-patch-plan.js';
import {
  busiestTile,
  writeBrokenVariants,
  writeSyntheticSvs,
  type SyntheticSlide,
} from '../../workers/synthetic/slides/synthetic-slides.js';

let dir: string;
let slide: SyntheticSlide;
let broken: Awaited<ReturnType<typeof writeBrokenVariants>>;
/** Level-0 rectangle of the tile the broken variants damage. */
let damaged: { x: number; y: number; size: number };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-broken-'));
  slide = await writeSyntheticSvs(join(dir, 'good.svs'), { width: 4000, height: 3000, seed: 31, blobs: 5 });
  broken = await writeBrokenVariants(slide.path, dir);
  const file = await RandomAccessFile.open(slide.path);
  const level0 = readTiffImage(slide.path, (await parseTiff(file)).pages[0]!);
  await file.close();
  const tile = busiestTile(level0);
  damaged = { x: (tile % level0.tilesAcross) * 240, y: Math.floor(tile / level0.tilesAcross) * 240, size: 240 };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

async function expectTyped(promise: Promise<unknown>, code: SlideErrorCode, message?: RegExp): Promise<void> {
  const started = Date.now();
  const error = await failure(promise);
  expect(isSlideError(error, code), String(error)).toBe(true);
  if (message) expect((error as Error).message).toMatch(message);
  expect(Date.now() - started, 'fails quickly').toBeLessThan(5_000);
}

describe('broken files fail at open with a typed error', () => {
  it('a truncated slide', async () => {
    await expectTyped(openSlide(broken.truncated), 'SlideUnreadable', /truncated/);
  });

  it('a zero-byte file', async () => {
    await expectTyped(openSlide(broken.empty), 'SlideUnreadable', /empty/);
  });

  it('a text file named .svs', async () => {
    await expectTyped(openSlide(broken.text), 'SlideUnreadable', /not a TIFF/);
  });

  it('a missing file', async () => {
    await expectTyped(openSlide(join(dir, 'nowhere.svs')), 'SlideUnreadable', /ENOENT/);
  });

  it('an unknown format', async () => {
    const path = join(dir, 'mystery.bin');
    await writeFile(path, Buffer.from('\x00\x01\x02 binary of no known kind'));
    await expectTyped(openSlide(path), 'UnsupportedFormat', /not a recognised slide format/);
  });

  it('a TIFF with an unknown compression (the shared fixture)', async () => {
    await expectTyped(openSlide(resolve('../shared/fixtures/openslide/unopenable.tiff')), 'UnsupportedFormat', /52479/);
  });

  it('an untiled image whose single strip is too large to decode piece by piece', async () => {
    const path = join(dir, 'one-strip.tif');
    await writeTiff(path, [
      {
        width: 9000,
        height: 8000,
        compression: Compression.None,
        photometric: Photometric.Rgb,
        chunks: [Buffer.alloc(0)],
      },
    ]);
    await expectTyped(openSlide(path), 'UnsupportedFormat', /too large to decode piece by piece/);
  });

  it('a PNG whose pixel data is damaged fails when read, not with white pixels', async () => {
    const { default: sharp } = await import('sharp');
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#a05080' } })
      .composite([
        { input: Buffer.alloc(32 * 32 * 3, 90), raw: { width: 32, height: 32, channels: 3 }, left: 5, top: 5 },
      ])
      .png({ compressionLevel: 0 })
      .toBuffer();
    png.fill(0x5a, Math.floor(png.length / 2), Math.floor(png.length / 2) + 200);
    const path = join(dir, 'damaged.png');
    await writeFile(path, png);
    const reader = await openSlide(path);
    await expectTyped(reader.read(0, 0, 0, 64, 64), 'SlideUnreadable');
    await reader.close();
  });
});

describe('damaged tiles fail when read, never as blank pixels', () => {
  it('a tile with corrupted bytes is SlideUnreadable naming the tile', async () => {
    const reader = await openSlide(broken.corruptTile);
    try {
      await expectTyped(
        reader.read(0, damaged.x - 100, damaged.y - 100, 672, 672),
        'SlideUnreadable',
        /tile \d+ of page 0 failed to decode/,
      );
      // Tiles elsewhere still read.
      const elsewhere = await reader.read(0, 0, 0, 200, 200);
      expect(elsewhere.outsidePixels).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('a zero-length tile reads as pixels without image data, counted', async () => {
    const reader = await openSlide(broken.missingTile);
    try {
      const region = await reader.read(0, damaged.x, damaged.y, damaged.size, damaged.size);
      expect(region.outsidePixels).toBe(damaged.size * damaged.size);
      expect(region.data.every((v) => v === 255)).toBe(true);
    } finally {
      await reader.close();
    }
  });

  for (const variant of ['corruptTile', 'missingTile'] as const) {
    it(`tiling the ${variant} slide fails typed and writes nothing`, async () => {
      const outDir = join(dir, `out-${variant}`);
      await expectTyped(tileSlideToDirectory(broken[variant], outDir, { writePatches: true }), 'SlideUnreadable');
      expect((await readdir(dir)).filter((name) => name.includes(`out-${variant}`))).toEqual([]);
    });
  }

  it('tiling an unreadable file writes nothing', async () => {
    const outDir = join(dir, 'out-truncated');
    await expectTyped(tileSlideToDirectory(broken.truncated, outDir, { writePatches: true }), 'SlideUnreadable');
    expect((await readdir(dir)).filter((name) => name.includes('out-truncated'))).toEqual([]);
  });
});
