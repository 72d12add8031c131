import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../activities/common/seeded-random.js';
import { decodeNative, nativeCodecsMissing } from '../../activities/wsi/native-codecs.js';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { isSlideError } from '../../activities/wsi/slide-errors.js';
import { TileDecodeFailure } from '../../activities/wsi/tile-decoding.js';
import { readTiffImage } from '../../activities/wsi/tiff-image.js';
import { parseTiff } from '../../activities/wsi/tiff-parser.js';
import { RandomAccessFile } from '../../activities/wsi/random-access-file.js';
import {
  comparePixels,
  findOpenSlide4Python,
  findOpenSlidePython,
  openSlide4SkipReason,
  openSlideRegions,
  openSlideSkipReason,
  requirePython,
  type Region,
} from '../../infra/harness/openslide-reference.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import type { SvsJpegColour } from '../../workers/synthetic/slides/svs-jpeg-tiles.js';
import { writeJpeg422SvsFrom } from './jpeg-422-svs.js';

// The native decoder (native/pathgen-codecs.c) calls libjpeg-turbo the way OpenSlide does, so its
// pixels are not close to OpenSlide's but equal: every channel of every pixel, on 4:2:0, 4:2:2, 4:4:4 and
// Aperio's RGB-in-JPEG tiles.

const python = await findOpenSlidePython();
const python4 = await findOpenSlide4Python();
const skipOpenSlide = openSlideSkipReason(python) || openSlide4SkipReason(python4);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-native-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('the native codecs are built (infra/build-native.sh)', () => {
  expect(nativeCodecsMissing()).toBeUndefined();
});

/** The sampling byte of the first component in level 0's first tile (0x22 = 4:2:0, 0x21 = 4:2:2). */
async function lumaSampling(path: string): Promise<number> {
  const file = await RandomAccessFile.open(path);
  try {
    const image = readTiffImage(path, (await parseTiff(file)).pages[0]!);
    const tile = await file.read(image.offsets[0]!, image.byteCounts[0]!);
    const sof = tile.indexOf(Buffer.from([0xff, 0xc0]));
    return tile[sof + 11]!;
  } finally {
    await file.close();
  }
}

function randomRegions(width: number, height: number, seed: number): Region[] {
  const random = seededRandom(seed);
  return Array.from({ length: 10 }, () => ({
    level: 0,
    x: Math.floor(random() * (width - 400)),
    y: Math.floor(random() * (height - 400)),
    width: 672,
    height: 672,
  }));
}

describe.skipIf(skipOpenSlide)('native JPEG tiles equal OpenSlide read_region exactly', () => {
  const colours: (SvsJpegColour | 'ycbcr-422')[] = ['ycbcr-420', 'ycbcr-422', 'ycbcr', 'rgb'];
  for (const [n, jpegColour] of colours.entries()) {
    it(`${jpegColour} tiles`, async () => {
      const slide = await writeSyntheticSvs(join(dir, `${jpegColour}.svs`), {
        width: 2600,
        height: 1900,
        seed: 40 + n,
        jpegColour: jpegColour === 'ycbcr-422' ? 'ycbcr' : jpegColour,
        quality: 85,
      });
      const path = jpegColour === 'ycbcr-422' ? join(dir, '422.svs') : slide.path;
      if (jpegColour === 'ycbcr-422') {
        await writeJpeg422SvsFrom(slide.path, path);
        expect(await lumaSampling(path)).toBe(0x21); // Y at 2×1 of chroma: 4:2:2
      }
      const reader = await openSlide(path);
      try {
        const regions = randomRegions(slide.width, slide.height, 70 + n);
        // OpenSlide 3.4 (Debian's libjpeg-turbo 2.1, as ours) and 4.0 (its wheel's libjpeg-turbo 3).
        for (const reference of [python, python4].filter((p) => p !== undefined)) {
          const expected = await openSlideRegions(requirePython(reference), path, regions);
          for (const [i, region] of regions.entries()) {
            const ours = await reader.read(0, region.x, region.y, region.width, region.height);
            const difference = comparePixels(ours.data, expected[i]!);
            expect(difference.maximum, `${jpegColour} ${JSON.stringify(region)} vs ${reference}`).toBe(0);
            expect(difference.coverageMismatches).toBe(0);
          }
        }
      } finally {
        await reader.close();
      }
    });
  }
});

describe.skipIf(skipOpenSlide)('large reads', () => {
  it('a region of more tiles than one batch holds (here 300 tiles of 64 px) reads whole and exact', async () => {
    const slide = await writeSyntheticSvs(join(dir, 'small-tiles.svs'), {
      width: 1280,
      height: 960,
      seed: 12,
      tileSize: 64,
      jpegColour: 'ycbcr-420',
    });
    const reader = await openSlide(slide.path);
    try {
      const region = { level: 0, x: 0, y: 0, width: 1280, height: 960 };
      const [expected] = await openSlideRegions(requirePython(python), slide.path, [region]);
      const ours = await reader.read(0, 0, 0, 1280, 960);
      expect(comparePixels(ours.data, expected!).maximum).toBe(0);
    } finally {
      await reader.close();
    }
  });
});

describe('native decoding is strict', () => {
  it('a corrupt tile fails naming the tile, a damaged scan is never grey pixels', async () => {
    const slide = await writeSyntheticSvs(join(dir, 'strict.svs'), {
      width: 1200,
      height: 900,
      seed: 9,
      jpegColour: 'ycbcr-420',
    });
    const file = await RandomAccessFile.open(slide.path);
    const image = readTiffImage(slide.path, (await parseTiff(file)).pages[0]!);
    const index = image.tilesAcross + 2;
    const tile = await file.read(image.offsets[index]!, image.byteCounts[index]!);
    await file.close();
    const batch = {
      codec: 'jpeg' as const,
      colour: 'ycbcr' as const,
      width: image.tileWidth,
      height: image.tileHeight,
      tables: image.jpegTables!,
    };
    const good = await decodeNative(batch, [{ index, bytes: tile }]);
    expect(good[0]!.length).toBe(image.tileWidth * image.tileHeight * 3);
    // Cut the scan short: libjpeg warns "premature end of data" and pads with grey; we fail instead.
    const truncated = tile.subarray(0, Math.floor(tile.length / 2));
    const failure = await decodeNative(batch, [
      { index: 1, bytes: tile },
      { index, bytes: truncated },
    ]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TileDecodeFailure);
    expect((failure as TileDecodeFailure).index).toBe(index);
    expect((failure as Error).message).toMatch(/premature|corrupt/i);

    // Through the reader: a SlideUnreadable naming the page and tile.
    const bytes = await readFile(slide.path);
    bytes.fill(0x55, image.offsets[index]! + 700, image.offsets[index]! + 760);
    const broken = join(dir, 'broken.svs');
    await writeFile(broken, bytes);
    const reader = await openSlide(broken);
    const error = await reader.read(0, 2 * image.tileWidth, image.tileHeight, 64, 64).catch((e: unknown) => e);
    await reader.close();
    expect(isSlideError(error, 'SlideUnreadable')).toBe(true);
    expect((error as Error).message).toContain(`tile ${index} of page 0`);
  });
});
