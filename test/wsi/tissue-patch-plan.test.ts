import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../activities/wsi/open-slide.js';
import type { PatchCandidate } from '../../activities/wsi/patch-grid.js';
import { readPatches, writePatches } from '../../activities/wsi/patch-reading.js';
import {
  inspectSlide,
  planSlide,
  tileSlideToDirectory,
  type TileProgress,
} from '../../activities/wsi/tissue-patch-plan.js';
import { writeSyntheticSvs, type SyntheticSlide } from '../../workers/synthetic/slides/synthetic-slides.js';

let dir: string;
let slide: SyntheticSlide;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-tile-'));
  slide = await writeSyntheticSvs(join(dir, 'slide.svs'), { width: 4400, height: 3400, seed: 61, blobs: 4 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function pngPixels(path: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

describe('inspectSlide', () => {
  it('returns the slide metadata as JSON-ready data', async () => {
    const metadata = await inspectSlide(slide.path);
    expect(JSON.parse(JSON.stringify(metadata))).toEqual(metadata);
    expect(metadata).toMatchObject({
      format: 'aperio',
      vendor: 'aperio',
      mpp: { x: 0.25, y: 0.25 },
      objectivePower: 40,
    });
    expect(metadata.levels[0]).toEqual({
      width: 4400,
      height: 3400,
      downsample: 1,
      tileWidth: 240,
      tileHeight: 240,
      page: 0,
    });
  });
});

describe('tileSlideToDirectory', () => {
  it('writes candidates, metadata, an overlay thumbnail and exact lossless patches', async () => {
    const outDir = join(dir, 'out');
    const progress: TileProgress[] = [];
    const summary = await tileSlideToDirectory(slide.path, outDir, {
      writePatches: true,
      onProgress: (p) => progress.push(p),
    });
    expect((await readdir(outDir)).sort()).toEqual(['candidates.jsonl', 'metadata.json', 'patches', 'thumbnail.png']);

    const lines = (await readFile(join(outDir, 'candidates.jsonl'), 'utf8')).trim().split('\n');
    const candidates = lines.map((line) => JSON.parse(line) as PatchCandidate);
    expect(candidates.length).toBe(summary.candidates);
    expect(summary.patchesWritten).toBe(summary.candidates);
    for (const candidate of candidates)
      expect(Object.keys(candidate)).toEqual(['x', 'y', 'level', 'width', 'height', 'tissue']);

    const metadata = JSON.parse(await readFile(join(outDir, 'metadata.json'), 'utf8')) as {
      slide: { levels: unknown[] };
      grid: Record<string, unknown>;
      tissue: Record<string, unknown>;
    };
    expect(metadata.slide.levels).toHaveLength(3);
    expect(metadata.grid).toMatchObject({
      patchSize: 672,
      level: 0,
      cellWidth: 672,
      candidates: summary.candidates,
      minTissueFraction: 0.5,
    });
    expect(metadata.tissue).toMatchObject({ detector: 'otsu-saturation', scaleX: 32 });

    const thumbnail = await sharp(join(outDir, 'thumbnail.png')).metadata();
    expect([thumbnail.format, thumbnail.width, thumbnail.height]).toEqual([
      'png',
      Math.ceil(4400 / 32),
      Math.ceil(3400 / 32),
    ]);

    const files = (await readdir(join(outDir, 'patches'))).sort();
    expect(files).toEqual(candidates.map((c) => `${c.x}_${c.y}.png`).sort());
    const reader = await openSlide(slide.path);
    try {
      for (const candidate of candidates.slice(0, 3)) {
        const patch = await pngPixels(join(outDir, 'patches', `${candidate.x}_${candidate.y}.png`));
        const region = await reader.read(0, candidate.x, candidate.y, 672, 672);
        expect([patch.width, patch.height]).toEqual([672, 672]);
        expect(patch.data.equals(region.data)).toBe(true);
      }
    } finally {
      await reader.close();
    }

    expect(progress[0]).toMatchObject({ phase: 'planned', candidates: summary.candidates });
    expect(progress.at(-1)).toEqual({ phase: 'patches', done: summary.candidates, total: summary.candidates });

    // A rerun replaces the previous output instead of mixing with it.
    const again = await tileSlideToDirectory(slide.path, outDir, { maxCandidates: 2, seed: 1, writePatches: true });
    expect(again.candidates).toBe(2);
    expect(await readdir(join(outDir, 'patches'))).toHaveLength(2);
    expect((await readdir(dir)).filter((name) => name.includes('.partial-'))).toEqual([]);
  });

  it('writes patches of the output size in target-mpp mode', async () => {
    const outDir = join(dir, 'out-mpp');
    const summary = await tileSlideToDirectory(slide.path, outDir, {
      mpp: 0.5,
      patchSize: 256,
      maxCandidates: 3,
      writePatches: true,
    });
    const candidates = (await readFile(join(outDir, 'candidates.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PatchCandidate);
    expect(summary.candidates).toBe(3);
    for (const candidate of candidates) {
      expect(candidate).toMatchObject({ level: 0, width: 512, height: 512, outputWidth: 256, outputHeight: 256 });
      const patch = await sharp(join(outDir, 'patches', `${candidate.x}_${candidate.y}.png`)).metadata();
      expect([patch.width, patch.height]).toEqual([256, 256]);
    }
  });

  it('without writePatches writes no patches folder', async () => {
    const outDir = join(dir, 'out-plan');
    const summary = await tileSlideToDirectory(slide.path, outDir);
    expect(summary.patchesWritten).toBe(0);
    expect((await readdir(outDir)).sort()).toEqual(['candidates.jsonl', 'metadata.json', 'thumbnail.png']);
  });
});

describe('patch iteration for the activity', () => {
  it('resumes from an index, reports progress, and yields patches in order', async () => {
    const reader = await openSlide(slide.path);
    try {
      const { grid } = await planSlide(reader);
      const all: number[] = [];
      for await (const patch of readPatches(reader, grid.candidates)) all.push(patch.index);
      expect(all).toEqual(grid.candidates.map((_, i) => i));

      const start = Math.floor(grid.candidates.length / 2);
      const written: number[] = [];
      const progress: [number, number][] = [];
      const result = await writePatches(reader, grid.candidates, {
        startIndex: start,
        write: ({ index, png }) => {
          expect(png.subarray(1, 4).toString()).toBe('PNG');
          written.push(index);
          return Promise.resolve();
        },
        onProgress: (done, total) => progress.push([done, total]),
      });
      expect(result.written).toBe(grid.candidates.length - start);
      expect(written).toEqual(grid.candidates.map((_, i) => i).slice(start));
      expect(progress.at(-1)).toEqual([grid.candidates.length, grid.candidates.length]);

      const controller = new AbortController();
      controller.abort();
      await expect(
        writePatches(reader, grid.candidates, { write: () => Promise.resolve(), signal: controller.signal }),
      ).rejects.toThrow(/abort/i);
    } finally {
      await reader.close();
    }
  });
});
