import { MockActivityEnvironment } from '@temporalio/testing';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { createTileActivities } from '../../activities/stages/tile.js';
import type { TileSlideResult } from '../../activities/stages/tile.js';
import '../setup/quiet-temporal-runtime.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

describe('tileSlide with an fs store', () => {
  it('reads a slide stored under a key in place, without staging a copy', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-tile-fs-'));
    const store = new FsObjectStore({ root: path.join(dir, 'store') });
    const slide = await writeSyntheticSvs(path.join(dir, 'slide.svs'), { width: 4000, height: 3000, seed: 5 });
    await store.put('slides/slide.svs', readFileSync(slide.path));
    const cacheDir = path.join(dir, 'cache');
    const activities = createTileActivities({ store, slideCacheDir: cacheDir, slideCacheMaxBytes: 2 ** 30 });
    const result: TileSlideResult = await new MockActivityEnvironment().run(activities.tileSlide.bind(activities), {
      slideId: 'slide',
      slide: 'slides/slide.svs',
      tiling: {
        patchSize: 672,
        level: 0,
        minTissueFraction: 0.5,
        thumbnailDownsample: 32,
        seed: 0,
        writePatches: false,
      },
    });
    expect(result.candidates).toBeGreaterThan(0);
    expect(await store.exists(result.keys.result)).toBe(true);
    expect(existsSync(path.join(cacheDir, 'slides'))).toBe(false);
  });
});
