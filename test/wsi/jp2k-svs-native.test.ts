import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../activities/common/seeded-random.js';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { isSlideError } from '../../activities/wsi/slide-errors.js';
import { inspectSlide, tileSlideToDirectory } from '../../activities/wsi/tissue-patch-plan.js';
import { RandomAccessFile } from '../../activities/wsi/random-access-file.js';
import { readTiffImage } from '../../activities/wsi/tiff-image.js';
import { parseTiff } from '../../activities/wsi/tiff-parser.js';
import {
  comparePixels,
  findOpenSlide4Python,
  findOpenSlidePython,
  openSlide4Hint,
  openSlide4SkipReason,
  openSlideMetadata,
  openSlideRegions,
  requirePython,
  type Region,
} from '../../infra/harness/openslide-reference.js';
import { writeJp2kSvs, type Jp2kSvsEncoding } from './aperio-jp2k-svs.js';

// Aperio JPEG 2000 SVS read directly, tile by tile, by the native decoder (OpenJPEG, unpacked and
// YCbCr-converted as OpenSlide does): no conversion, and pixels equal to OpenSlide 4.0's and 3.4's.

const python4 = await findOpenSlide4Python();
const python3 = await findOpenSlidePython();
const skip = openSlide4SkipReason(python4);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-jp2k-native-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function regions(width: number, height: number, seed: number): Region[] {
  const random = seededRandom(seed);
  const list: Region[] = Array.from({ length: 6 }, () => ({
    level: 0,
    x: Math.floor(random() * (width - 300)),
    y: Math.floor(random() * (height - 300)),
    width: 672,
    height: 672,
  }));
  list.push({ level: 1, x: 400, y: 200, width: 300, height: 200 });
  return list;
}

const variants: { name: string; encoding: Jp2kSvsEncoding }[] = [
  { name: '33003 (YCbCr, chroma at half width as Aperio writes it)', encoding: { compression: 33003 } },
  { name: '33003 (YCbCr 4:4:4)', encoding: { compression: 33003, chroma: '444' } },
  { name: '33005 (RGB)', encoding: { compression: 33005 } },
];

describe.skipIf(skip)('JPEG 2000 SVS through the native decoder', () => {
  for (const [n, { name, encoding }] of variants.entries()) {
    it(`${name}: inspect, read and tile, pixels equal to OpenSlide 4.0 and 3.4`, async () => {
      const path = join(dir, `jp2k-${n}.svs`);
      await writeJp2kSvs(path, { width: 1900, height: 1400, seed: 60 + n, ...encoding });
      const metadata = await inspectSlide(path, { conversionCacheDir: join(dir, 'no-conversion') });
      const reference = await openSlideMetadata(requirePython(python4, openSlide4Hint), path);
      expect(metadata.format).toBe('aperio');
      expect(metadata.levels.map((l) => [l.width, l.height])).toEqual(reference.dimensions);

      const reader = await openSlide(path, { allowConversion: false });
      try {
        expect(reader.decoder).toBe('OpenJPEG (native)');
        const wanted = regions(1900, 1400, 90 + n);
        for (const python of [python4, python3]) {
          // 33005 tiles carry the codestream's irreversible colour transform, computed in floating
          // point: OpenSlide 4.0's wheel links its own OpenJPEG (2.5.3+), whose transform rounds a
          // few values differently from the system's 2.5.0, which we and OpenSlide 3.4 use.
          const exact = python === python3 || encoding.compression === 33003;
          const expected = await openSlideRegions(requirePython(python, openSlide4Hint), path, wanted);
          for (const [i, region] of wanted.entries()) {
            const ours = await reader.read(region.level, region.x, region.y, region.width, region.height);
            const difference = comparePixels(ours.data, expected[i]!);
            const context = `${name} ${JSON.stringify(region)} vs ${python}`;
            expect(difference.maximum, context).toBeLessThanOrEqual(exact ? 0 : 1);
            expect(difference.meanAbsolute, context).toBeLessThan(exact ? Number.EPSILON : 0.05);
            expect(difference.coverageMismatches).toBe(0);
          }
        }
      } finally {
        await reader.close();
      }

      const tiled = await tileSlideToDirectory(path, join(dir, `tiles-${n}`), {
        patchSize: 224,
        allowConversion: false,
        writePatches: true,
      });
      expect(tiled.candidates).toBeGreaterThan(0);
    });
  }

  it('a damaged JPEG 2000 tile fails the read as SlideUnreadable naming the tile', async () => {
    const path = join(dir, 'damaged.svs');
    await writeJp2kSvs(path, { width: 1200, height: 900, seed: 77, compression: 33003 });
    const file = await RandomAccessFile.open(path);
    const image = readTiffImage(path, (await parseTiff(file)).pages[0]!);
    await file.close();
    const index = image.tilesAcross + 1;
    const bytes = await readFile(path);
    // Overwrite the codestream from its main header on: markers OpenJPEG must reject.
    bytes.fill(0xff, image.offsets[index]! + 2, image.offsets[index]! + Math.min(200, image.byteCounts[index]!));
    const broken = join(dir, 'broken.svs');
    await writeFile(broken, bytes);
    const reader = await openSlide(broken, { allowConversion: false });
    const error = await reader.read(0, image.tileWidth + 5, image.tileHeight + 5, 32, 32).catch((e: unknown) => e);
    await reader.close();
    expect(isSlideError(error, 'SlideUnreadable')).toBe(true);
    expect((error as Error).message).toContain(`tile ${index} of page 0`);
    expect((error as Error).message).toMatch(/OpenJPEG|JPEG 2000/);
  });
});
