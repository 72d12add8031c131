import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide } from '../../activities/wsi/index.js';
import {
  DemoSlideSource,
  SectionOutline,
  writeDemoSlide,
} from '../../workers/synthetic/slides/synthetic-demo-slide.js';
import { TissuePainter } from '../../workers/synthetic/slides/tissue-painter.js';
import { demoTissueKindInfo } from '../../workers/synthetic/slides/tissue-kinds.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-demo-slide-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function meanRgb(data: Uint8Array): number[] {
  const sums = [0, 0, 0];
  for (let i = 0; i < data.length; i++) sums[i % 3]! += data[i]!;
  return sums.map((sum) => sum / (data.length / 3));
}

describe('DemoSlideSource', () => {
  it('serves the same lower levels whether or not level 0 was painted first', () => {
    const size = 1344;
    const painted = new DemoSlideSource(size, size, 'glandular', 5, 0.25);
    for (let y = 0; y < size; y += 240) for (let x = 0; x < size; x += 240) painted.render(x, y, 240, 240, 1);
    const direct = new DemoSlideSource(size, size, 'glandular', 5, 0.25);
    for (const downsample of [4, 16, size / 600]) {
      const side = Math.floor(size / downsample);
      expect(direct.render(0, 0, side, side, downsample).equals(painted.render(0, 0, side, side, downsample))).toBe(
        true,
      );
    }
  });

  it('paints the same pixels in one piece as in tiles', () => {
    const outline = new SectionOutline(2000, 2000, 3);
    const painter = new TissuePainter(demoTissueKindInfo.adipose.style, 3, 0.25, outline);
    const whole = painter.paint(600, 600, 480, 480);
    const tiles = [0, 240].flatMap((dy) =>
      [0, 240].map((dx) => ({ dx, dy, rgb: painter.paint(600 + dx, 600 + dy, 240, 240) })),
    );
    for (const { dx, dy, rgb } of tiles)
      for (let row = 0; row < 240; row++) {
        const fromWhole = whole.subarray(((dy + row) * 480 + dx) * 3, ((dy + row) * 480 + dx + 240) * 3);
        const fromTile = rgb.subarray(row * 240 * 3, (row + 1) * 240 * 3);
        expect(fromTile.equals(fromWhole)).toBe(true);
      }
  });
});

describe('writeDemoSlide', () => {
  it('writes a pyramid whose lower level is the area average of level 0', async () => {
    const file = path.join(dir, 'dense.svs');
    await writeDemoSlide(file, { kind: 'dense-tumour', seed: 2, width: 2560, height: 1920 });
    const reader = await openSlide(file);
    try {
      expect(reader.levels.map((l) => l.downsample)).toEqual([1, 4, 16]);
      // A window in the middle of the section (x, y in level-0 pixels), at level 0 and at level 1.
      const level0 = await reader.read(0, 1000, 800, 256, 256);
      const level1 = await reader.read(1, 1000, 800, 64, 64);
      const a = meanRgb(level0.data);
      const b = meanRgb(level1.data);
      for (let c = 0; c < 3; c++) expect(Math.abs(a[c]! - b[c]!)).toBeLessThan(3);
      const glass = meanRgb((await reader.read(0, 0, 0, 64, 64)).data);
      expect(Math.min(...glass)).toBeGreaterThan(240);
    } finally {
      await reader.close();
    }
  });
});
