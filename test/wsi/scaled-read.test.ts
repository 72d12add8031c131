import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNative } from '../../activities/wsi/native-codecs.js';
import { openSlide } from '../../activities/wsi/open-slide.js';
import type { PatchCandidate } from '../../activities/wsi/patch-grid.js';
import { readCandidate, readCandidateScaled, readPatches } from '../../activities/wsi/patch-reading.js';
import { RandomAccessFile } from '../../activities/wsi/random-access-file.js';
import { readTiffImage, type TiffImage } from '../../activities/wsi/tiff-image.js';
import { parseTiff } from '../../activities/wsi/tiff-parser.js';
import { findOpenSlidePython, openSlideSkipReason, requirePython } from '../../infra/harness/openslide-reference.js';
import { writeSyntheticPyramidTiff, writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import type { SvsJpegColour } from '../../workers/synthetic/slides/svs-jpeg-tiles.js';

// readScaled: a region of JPEG tiles decoded at 1/2 in libjpeg's DCT domain is libjpeg's own 1/2
// decode of those tiles (decodeNative asked for scaleDenom 2 and composed by hand here; PIL's
// draft(), which asks libjpeg for the same scaling), cached apart from full-size tiles. Other
// codecs are refused, and the feed then reads them exactly.

const python = await findOpenSlidePython();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-scaled-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function level0(path: string): Promise<{ file: RandomAccessFile; image: TiffImage }> {
  const file = await RandomAccessFile.open(path);
  return { file, image: readTiffImage(path, (await parseTiff(file)).pages[0]!) };
}

/** The region at scaled pixel (sx, sy), built from level 0's tiles decoded one by one at 1/2. */
async function composedByHand(path: string, colour: 'rgb' | 'ycbcr', sx: number, sy: number, side: number) {
  const { file, image } = await level0(path);
  try {
    const tw = image.tileWidth / 2;
    const th = image.tileHeight / 2;
    const out = Buffer.alloc(side * side * 3);
    for (let row = Math.floor(sy / th); row <= Math.floor((sy + side - 1) / th); row++) {
      for (let col = Math.floor(sx / tw); col <= Math.floor((sx + side - 1) / tw); col++) {
        const index = row * image.tilesAcross + col;
        const bytes = await file.read(image.offsets[index]!, image.byteCounts[index]!);
        const [tile] = await decodeNative(
          { codec: 'jpeg', colour, width: tw, height: th, tables: image.jpegTables!, scaleDenom: 2 },
          [{ index, bytes }],
        );
        for (let y = Math.max(sy, row * th); y < Math.min(sy + side, (row + 1) * th); y++) {
          for (let x = Math.max(sx, col * tw); x < Math.min(sx + side, (col + 1) * tw); x++) {
            const from = ((y - row * th) * tw + (x - col * tw)) * 3;
            tile!.copy(out, ((y - sy) * side + (x - sx)) * 3, from, from + 3);
          }
        }
      }
    }
    return out;
  } finally {
    await file.close();
  }
}

describe('readScaled on JPEG tiles', () => {
  const colours: SvsJpegColour[] = ['ycbcr-420', 'rgb'];
  for (const [n, jpegColour] of colours.entries()) {
    it(`is libjpeg's 1/2 decode of the tiles, composed (${jpegColour} tiles, odd origin rounded down)`, async () => {
      const slide = await writeSyntheticSvs(join(dir, `${jpegColour}.svs`), {
        width: 2600,
        height: 1900,
        seed: 60 + n,
        jpegColour,
        quality: 85,
      });
      const reader = await openSlide(slide.path);
      try {
        const region = await reader.readScaled!(0, 1001, 333, 672, 672, 2);
        expect(region).toMatchObject({ width: 336, height: 336, outsidePixels: 0 });
        const expected = await composedByHand(slide.path, jpegColour === 'rgb' ? 'rgb' : 'ycbcr', 500, 166, 336);
        expect(region!.data.equals(expected)).toBe(true);
      } finally {
        await reader.close();
      }
    });
  }

  it('keeps scaled tiles apart from full-size ones in the tile cache', async () => {
    const slide = await writeSyntheticSvs(join(dir, 'cache.svs'), { width: 2000, height: 1500, seed: 62 });
    const reader = await openSlide(slide.path);
    const fresh = await openSlide(slide.path);
    try {
      const exact = await reader.read(0, 240, 240, 480, 480);
      const scaled = await reader.readScaled!(0, 240, 240, 480, 480, 2);
      const exactAgain = await reader.read(0, 240, 240, 480, 480);
      expect(exactAgain.data.equals(exact.data)).toBe(true);
      expect(scaled!.width).toBe(240);
      // Scaled first on another reader, then exact: each equals the same read made on its own.
      const scaledFirst = await fresh.readScaled!(0, 240, 240, 480, 480, 2);
      expect(scaledFirst!.data.equals(scaled!.data)).toBe(true);
      expect((await fresh.read(0, 240, 240, 480, 480)).data.equals(exact.data)).toBe(true);
    } finally {
      await reader.close();
      await fresh.close();
    }
  });

  it.skipIf(openSlideSkipReason(python))("matches PIL's draft() of the same tile", async () => {
    const slide = await writeSyntheticSvs(join(dir, 'pil.svs'), {
      width: 1200,
      height: 960,
      seed: 63,
      jpegColour: 'ycbcr-420',
      quality: 85,
    });
    const { file, image } = await level0(slide.path);
    const index = image.tilesAcross + 2;
    const tables = image.jpegTables!;
    const tile = await file.read(image.offsets[index]!, image.byteCounts[index]!);
    await file.close();
    // An abbreviated TIFF tile with its tables in front: a JPEG PIL can open on its own.
    const jpeg = join(dir, 'tile.jpg');
    await writeFile(jpeg, Buffer.concat([tables.subarray(0, tables.length - 2), tile.subarray(2)]));
    const script =
      'import sys; from PIL import Image; im = Image.open(sys.argv[1]); ' +
      "im.draft('RGB', (im.width // 2, im.height // 2)); sys.stdout.buffer.write(im.convert('RGB').tobytes())";
    const { stdout } = await promisify(execFile)(requirePython(python), ['-c', script, jpeg], {
      encoding: 'buffer',
      maxBuffer: 1 << 24,
    });
    const reader = await openSlide(slide.path);
    try {
      const region = await reader.readScaled!(0, 2 * 240, 240, 240, 240, 2);
      expect(region!.data.length).toBe(stdout.length);
      expect(region!.data.equals(stdout)).toBe(true);
    } finally {
      await reader.close();
    }
  });
});

describe('readScaled where tiles are not JPEG', () => {
  it('refuses, and the feed reads those slides exactly', async () => {
    const slide = await writeSyntheticPyramidTiff(
      join(dir, 'lzw.tif'),
      { width: 1400, height: 1100, seed: 64 },
      { compression: 'lzw' },
    );
    const reader = await openSlide(slide.path);
    try {
      expect(await reader.readScaled!(0, 0, 0, 672, 672, 2)).toBeUndefined();
      const candidate: PatchCandidate = { x: 100, y: 50, level: 0, width: 672, height: 672, tissue: 1 };
      const exact = await readCandidate(reader, candidate);
      const fed = await readCandidateScaled(reader, candidate, 2);
      expect(fed).toMatchObject({ width: 672, height: 672 });
      expect(fed.data.equals(exact.data)).toBe(true);
      for await (const patch of readPatches(reader, [candidate], { scaleDenom: 2 }))
        expect(patch.image.data.equals(exact.data)).toBe(true);
    } finally {
      await reader.close();
    }
  });

  it('refuses scales libjpeg does not offer', async () => {
    const slide = await writeSyntheticSvs(join(dir, 'three.svs'), { width: 1200, height: 960, seed: 65 });
    const reader = await openSlide(slide.path);
    try {
      expect(await reader.readScaled!(0, 0, 0, 672, 672, 3)).toBeUndefined();
      expect((await reader.readScaled!(0, 0, 0, 672, 672, 4))!.width).toBe(168);
    } finally {
      await reader.close();
    }
  });
});
