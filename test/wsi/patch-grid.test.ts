import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { OtsuTissueDetector } from '../../activities/wsi/otsu-tissue-detector.js';
import { levelForMpp, planCandidates, type PatchGridConfig } from '../../activities/wsi/patch-grid.js';
import { sampleInOrder } from '../../activities/common/seeded-random.js';
import { isSlideError } from '../../activities/wsi/slide-errors.js';
import type { SlideReader } from '../../activities/wsi/slide-reader.js';
import type { TissueMask } from '../../activities/wsi/tissue-mask.js';
import {
  writeSyntheticPyramidTiff,
  writeSyntheticSvs,
  type SyntheticSlide,
} from '../../workers/synthetic/slides/synthetic-slides.js';

let dir: string;
let svs: SyntheticSlide;
let reader: SlideReader;
let mask: TissueMask;
let noMpp: SyntheticSlide;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-grid-'));
  svs = await writeSyntheticSvs(join(dir, 'slide.svs'), { width: 6500, height: 4900, seed: 51, blobs: 4, mpp: 0.25 });
  noMpp = await writeSyntheticPyramidTiff(
    join(dir, 'no-mpp.tif'),
    { width: 3000, height: 2400, seed: 52, blobs: 3 },
    { withResolution: false },
  );
  reader = await openSlide(svs.path);
  mask = await new OtsuTissueDetector().detect(reader);
});
afterAll(async () => {
  await reader.close();
  await rm(dir, { recursive: true, force: true });
});

function plan(config: PatchGridConfig = {}) {
  return planCandidates(reader, mask, config);
}

describe('PathGen grid at level 0', () => {
  it('lays 672 px cells from the origin, aligned to the 32× mask (21 mask px a cell)', () => {
    const grid = plan();
    expect([grid.cellWidth, grid.cellHeight, grid.level]).toEqual([672, 672, 0]);
    expect(grid.columns).toBe(Math.floor(6500 / 672));
    expect(grid.rows).toBe(Math.floor(4900 / 672));
    expect((grid.cellWidth / mask.scaleX) % 1).toBe(0);
    for (const candidate of grid.candidates) {
      expect(candidate.x % 672).toBe(0);
      expect(candidate.y % 672).toBe(0);
      expect(candidate).toMatchObject({ level: 0, width: 672, height: 672 });
    }
  });

  it('keeps only cells inside the slide and on tissue', () => {
    const { candidates } = plan();
    expect(candidates.length).toBeGreaterThan(5);
    for (const candidate of candidates) {
      expect(candidate.x + 672).toBeLessThanOrEqual(svs.width);
      expect(candidate.y + 672).toBeLessThanOrEqual(svs.height);
      expect(candidate.tissue).toBeGreaterThan(0.5);
      expect(svs.tissue.tissueFraction(candidate.x, candidate.y, 672, 672)).toBeGreaterThan(0.4);
    }
  });

  it('honours the tissue threshold and patch size', () => {
    const strict = plan({ minTissueFraction: 0.9 });
    const loose = plan({ minTissueFraction: 0.1 });
    expect(strict.candidates.length).toBeLessThan(plan().candidates.length);
    expect(loose.candidates.length).toBeGreaterThan(plan().candidates.length);
    expect(strict.candidates.every((c) => c.tissue > 0.9)).toBe(true);
    const small = plan({ patchSize: 224 });
    expect(small.cellWidth).toBe(224);
    expect(small.candidates.length).toBeGreaterThan(plan().candidates.length * 5);
  });

  it('reads at a lower level when asked: cells cover patchSize × downsample level-0 px', () => {
    const grid = plan({ level: 1 });
    expect(grid.cellWidth).toBe(672 * 4);
    expect(grid.candidates.every((c) => c.level === 1 && c.width === 672 && c.x % (672 * 4) === 0)).toBe(true);
    expect(() => plan({ level: 9 })).toThrow(RangeError);
  });
});

describe('seeded cap', () => {
  it('draws the same candidates for the same seed, in grid order, and others for another seed', () => {
    const all = plan().candidates;
    const capped = plan({ maxCandidates: 5, seed: 7 }).candidates;
    expect(capped).toHaveLength(5);
    expect(plan({ maxCandidates: 5, seed: 7 }).candidates).toEqual(capped);
    const order = capped.map((c) => all.findIndex((a) => a.x === c.x && a.y === c.y));
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const seeds = [1, 2, 3, 4, 5].map((seed) => JSON.stringify(plan({ maxCandidates: 5, seed }).candidates));
    expect(new Set(seeds).size).toBeGreaterThan(1);
    expect(plan({ maxCandidates: 10_000 }).candidates).toEqual(all);
    expect(() => plan({ maxCandidates: 0 })).toThrow(RangeError);
  });

  it('samples without replacement', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const sample = sampleInOrder(items, 20, 3);
    expect(new Set(sample).size).toBe(20);
    expect(sampleInOrder(items, 20, 3)).toEqual(sample);
  });
});

describe('target-mpp mode', () => {
  it('reads from the coarsest level with enough resolution and scales to the patch size', () => {
    // Levels of 0.25, 1.0 and ~4.0 µm/px.
    expect(levelForMpp(reader, { x: 0.25, y: 0.25 }, 0.5)).toBe(0);
    expect(levelForMpp(reader, { x: 0.25, y: 0.25 }, 1.0)).toBe(1);
    expect(levelForMpp(reader, { x: 0.25, y: 0.25 }, 0.99)).toBe(0);
    expect(levelForMpp(reader, { x: 0.25, y: 0.25 }, 8)).toBe(2);

    const half = plan({ targetMpp: 0.5, patchSize: 672 });
    // 672 px at 0.5 µm/px = 336 µm = 1344 level-0 px, read at level 0 and halved.
    expect([half.cellWidth, half.level]).toEqual([1344, 0]);
    expect(half.candidates.every((c) => c.width === 1344 && c.outputWidth === 672 && c.outputHeight === 672)).toBe(
      true,
    );

    const one = plan({ targetMpp: 1.0, patchSize: 512 });
    expect([one.cellWidth, one.level]).toEqual([2048, 1]);
    expect(one.candidates.every((c) => c.level === 1 && c.width === 512 && c.outputWidth === 512)).toBe(true);
    expect(one.targetMpp).toBe(1.0);
  });

  it('fails with MissingResolution without mpp, in that mode only; an override fixes it', async () => {
    const bare = await openSlide(noMpp.path);
    try {
      expect(bare.mpp).toBeNull();
      const bareMask = await new OtsuTissueDetector().detect(bare);
      const error = (() => {
        try {
          planCandidates(bare, bareMask, { targetMpp: 0.5 });
        } catch (e) {
          return e;
        }
      })();
      expect(isSlideError(error, 'MissingResolution')).toBe(true);
      expect((error as Error).message).toMatch(/no microns-per-pixel/);
      expect(planCandidates(bare, bareMask).candidates.length).toBeGreaterThan(0);
      const overridden = planCandidates(bare, bareMask, { targetMpp: 1, mppOverride: 0.5, patchSize: 300 });
      expect(overridden.cellWidth).toBe(600);
      expect(overridden.level).toBe(1);
    } finally {
      await bare.close();
    }
  });
});
