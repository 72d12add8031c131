import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { OtsuTissueDetector } from '../../activities/wsi/otsu-tissue-detector.js';
import { planCandidates } from '../../activities/wsi/patch-grid.js';
import { isSlideError } from '../../activities/wsi/slide-errors.js';
import { nearestLevel, readSlideThumbnail } from '../../activities/wsi/slide-thumbnail.js';
import { maskCoverage, type TissueMask } from '../../activities/wsi/tissue-mask.js';
import {
  binaryClose,
  binaryOpen,
  fillHoles,
  medianFilter,
  otsuThreshold,
  removeSmallRegions,
} from '../../activities/wsi/tissue-morphology.js';
import {
  writeSyntheticPyramidTiff,
  writeSyntheticSvs,
  type SyntheticSlide,
} from '../../workers/synthetic/slides/synthetic-slides.js';

let dir: string;
const slides: SyntheticSlide[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-tissue-'));
  slides.push(
    await writeSyntheticSvs(join(dir, 'a.svs'), { width: 7000, height: 5000, seed: 41, blobs: 4, blackBorder: 150 }),
  );
  slides.push(await writeSyntheticSvs(join(dir, 'b.svs'), { width: 6100, height: 4700, seed: 42, blobs: 3 }));
  slides.push(await writeSyntheticPyramidTiff(join(dir, 'c.tif'), { width: 5400, height: 4300, seed: 43, blobs: 5 }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Grid cells (672 px, level 0) that are more than half tissue in the ground truth. */
function truthCells(slide: SyntheticSlide): Set<string> {
  const cells = new Set<string>();
  for (let y = 0; y + 672 <= slide.height; y += 672) {
    for (let x = 0; x + 672 <= slide.width; x += 672)
      if (slide.tissue.tissueFraction(x, y, 672, 672) > 0.5) cells.add(`${x},${y}`);
  }
  return cells;
}

function iou(a: Set<string>, b: Set<string>): number {
  const both = [...a].filter((key) => b.has(key)).length;
  return both / (a.size + b.size - both);
}

describe('Otsu saturation tissue detector', () => {
  for (const index of [0, 1, 2]) {
    it(`finds the ground-truth tissue cells (slide ${index}): IoU ≥ 0.9`, async () => {
      const slide = slides[index]!;
      const reader = await openSlide(slide.path);
      try {
        const mask = await new OtsuTissueDetector().detect(reader);
        expect(mask.scaleX).toBe(32);
        expect(mask.width).toBe(Math.ceil(slide.width / 32));
        expect(mask.height).toBe(Math.ceil(slide.height / 32));
        const found = new Set(planCandidates(reader, mask).candidates.map((c) => `${c.x},${c.y}`));
        const truth = truthCells(slide);
        expect(truth.size).toBeGreaterThan(5);
        expect(iou(found, truth)).toBeGreaterThanOrEqual(0.9);

        // Pixel-level agreement of the mask with the geometry, too.
        let agree = 0;
        for (let v = 0; v < mask.height; v++) {
          for (let u = 0; u < mask.width; u++) {
            const truthAt = slide.tissue.isTissue((u + 0.5) * 32, (v + 0.5) * 32) ? 1 : 0;
            if (truthAt === mask.data[v * mask.width + u]) agree++;
          }
        }
        expect(agree / (mask.width * mask.height)).toBeGreaterThan(0.97);
      } finally {
        await reader.close();
      }
    });
  }

  it('ignores a black scanner border and dust specks', async () => {
    const slide = slides[0]!;
    const reader = await openSlide(slide.path);
    try {
      const mask = await new OtsuTissueDetector().detect(reader);
      // The 150 px black band is the first ~4 mask columns.
      expect(maskCoverage(mask, 0, 0, 128, slide.height)).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('is deterministic', async () => {
    const reader = await openSlide(slides[1]!.path);
    try {
      const a = await new OtsuTissueDetector().detect(reader);
      const b = await new OtsuTissueDetector().detect(reader);
      expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
      expect(b.tissueFraction).toBe(a.tissueFraction);
    } finally {
      await reader.close();
    }
  });

  it('finds no tissue on blank glass, and the grid then fails with NoTissue', async () => {
    const blank = await writeSyntheticSvs(join(dir, 'blank.svs'), {
      width: 2000,
      height: 1500,
      seed: 44,
      blobs: 0,
      specks: true,
    });
    const reader = await openSlide(blank.path);
    try {
      const mask = await new OtsuTissueDetector().detect(reader);
      expect(mask.tissueFraction).toBe(0);
      const error = (() => {
        try {
          planCandidates(reader, mask);
        } catch (e) {
          return e;
        }
      })();
      expect(isSlideError(error, 'NoTissue')).toBe(true);
    } finally {
      await reader.close();
    }
  });
});

describe('slide thumbnail', () => {
  it('reads from the nearest level and covers 32 level-0 pixels per pixel', async () => {
    const reader = await openSlide(slides[0]!.path);
    try {
      // Aperio levels 1, 4, 16: 16 is nearest to 32.
      expect(nearestLevel(reader, 32)).toBe(2);
      expect(nearestLevel(reader, 3)).toBe(1);
      const thumbnail = await readSlideThumbnail(reader, 32);
      expect([thumbnail.width, thumbnail.height, thumbnail.level]).toEqual([219, 157, 2]);
      // A thumbnail from level 0 (box-averaged) looks like one from level 2.
      const fine = await readSlideThumbnail(
        { ...reader, levels: reader.levels.slice(0, 1), read: reader.read.bind(reader) },
        32,
      );
      let difference = 0;
      for (let i = 0; i < fine.data.length; i++) difference += Math.abs(fine.data[i]! - thumbnail.data[i]!);
      expect(difference / fine.data.length).toBeLessThan(8);
    } finally {
      await reader.close();
    }
  });
});

describe('slide thumbnail from a coarser level', () => {
  it('samples up when the nearest level is coarser than 32×', async () => {
    const coarse = await writeSyntheticSvs(join(dir, 'coarse.svs'), {
      width: 4800,
      height: 3600,
      seed: 45,
      downsamples: [40],
    });
    const reader = await openSlide(coarse.path);
    try {
      expect(reader.levels[1]!.downsample).toBe(40);
      const thumbnail = await readSlideThumbnail(reader, 32);
      expect([thumbnail.width, thumbnail.height, thumbnail.level]).toEqual([150, 113, 1]);
      const fine = await readSlideThumbnail(
        { ...reader, levels: reader.levels.slice(0, 1), read: reader.read.bind(reader) },
        32,
      );
      let difference = 0;
      for (let i = 0; i < fine.data.length; i++) difference += Math.abs(fine.data[i]! - thumbnail.data[i]!);
      expect(difference / fine.data.length).toBeLessThan(12);
      const mask = await new OtsuTissueDetector().detect(reader, { thumbnail });
      expect(
        iou(new Set(planCandidates(reader, mask).candidates.map((c) => `${c.x},${c.y}`)), truthCells(coarse)),
      ).toBeGreaterThanOrEqual(0.8);
    } finally {
      await reader.close();
    }
  });
});

describe('mask operations', () => {
  const grid = (rows: string[]) =>
    Uint8Array.from(
      rows
        .join('')
        .split('')
        .map((c) => (c === '#' ? 1 : 0)),
    );
  const show = (mask: Uint8Array, width: number) =>
    Array.from({ length: mask.length / width }, (_, r) =>
      [...mask.subarray(r * width, (r + 1) * width)].map((v) => (v ? '#' : '.')).join(''),
    );

  it('Otsu splits a bimodal histogram between its modes', () => {
    const histogram = new Array<number>(256).fill(0);
    for (let i = 0; i < 1000; i++) histogram[10 + (i % 5)]!++;
    for (let i = 0; i < 400; i++) histogram[90 + (i % 9)]!++;
    const t = otsuThreshold(histogram);
    expect(t).toBeGreaterThanOrEqual(14);
    expect(t).toBeLessThan(90);
  });

  it('opening removes specks, closing bridges gaps', () => {
    const mask = grid(['.......', '.#.....', '.......', '..###..', '..###..', '..###..', '.......']);
    expect(show(binaryOpen(mask, 7, 7, 1), 7)).toEqual([
      '.......',
      '.......',
      '.......',
      '..###..',
      '..###..',
      '..###..',
      '.......',
    ]);
    const gap = grid(['.....', '##.##', '##.##', '.....']);
    expect(show(binaryClose(gap, 5, 4, 1), 5)).toEqual(['.....', '#####', '#####', '.....']);
  });

  it('drops small regions and fills enclosed holes only', () => {
    const mask = grid(['#......', '.......', '.#####.', '.#..##.', '.#####.', '.......', '.....##']);
    expect(show(removeSmallRegions(mask, 7, 7, 3), 7)).toEqual([
      '.......',
      '.......',
      '.#####.',
      '.#..##.',
      '.#####.',
      '.......',
      '.......',
    ]);
    expect(show(fillHoles(mask, 7, 7), 7)[3]).toBe('.#####.');
    expect(show(fillHoles(mask, 7, 7, 1), 7)[3]).toBe('.#..##.');
  });

  it('median filter removes salt noise', () => {
    const values = new Uint8Array(25).fill(10);
    values[12] = 250;
    expect(medianFilter(values, 5, 5, 1)[12]).toBe(10);
  });

  it('coverage weighs partial mask pixels', () => {
    const mask: TissueMask = {
      width: 2,
      height: 1,
      data: Uint8Array.from([1, 0]),
      scaleX: 10,
      scaleY: 10,
      tissueFraction: 0.5,
      detector: 'test',
      details: {},
    };
    expect(maskCoverage(mask, 0, 0, 10, 10)).toBe(1);
    expect(maskCoverage(mask, 5, 0, 10, 10)).toBe(0.5);
    expect(maskCoverage(mask, 10, 0, 10, 10)).toBe(0);
  });
});
