import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClipModel } from '../../activities/clip/index.js';
import type { ClipModel } from '../../activities/clip/index.js';
import { createSelectActivities } from '../../activities/stages/select.js';
import type { SelectHeartbeat, SelectPatchesInput, SelectPatchesResult } from '../../activities/stages/select.js';
import type { SelectionSettings } from '../../activities/contracts/run-settings.js';
import { floats } from '../../activities/select/batch-checkpoint.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { createTileActivities } from '../../activities/stages/tile.js';
import type { TileSlideResult } from '../../activities/stages/tile.js';
import { PathgenConfig } from '../../workers/config/schema.js';
import '../setup/quiet-temporal-runtime.js';
import { writeTinyClipModel } from '../../workers/synthetic/clip-models/tiny-clip-model.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

// selectPatches on real (synthetic) slides through the fs store: model-free and CLIP modes,
// resume after a crash mid-embedding, tiny slides.

let dir: string;
let store: FsObjectStore;
let modelDir: string;
let model: ClipModel;
let tiled: TileSlideResult;

const defaults = (patch: Partial<SelectionSettings> = {}): SelectionSettings => {
  const { executionProviders: _p, intraOpThreads: _t, model: _m, ...settings } = PathgenConfig.parse({}).select;
  return { ...settings, ...patch };
};

async function tile(name: string, width: number, height: number, seed: number): Promise<TileSlideResult> {
  const slide = await writeSyntheticSvs(path.join(dir, `${name}.svs`), { width, height, seed });
  const activities = createTileActivities({
    store,
    slideCacheDir: path.join(dir, 'cache'),
    slideCacheMaxBytes: 2 ** 30,
  });
  return new MockActivityEnvironment().run(activities.tileSlide.bind(activities), {
    slideId: name,
    slide: slide.path,
    tiling: { patchSize: 672, level: 0, minTissueFraction: 0.5, thumbnailDownsample: 32, seed: 0, writePatches: false },
  });
}

function activities() {
  return createSelectActivities({
    store,
    slideCacheDir: path.join(dir, 'cache'),
    slideCacheMaxBytes: 2 ** 30,
    loadClipModel: () => Promise.resolve(model),
  });
}

function input(result: TileSlideResult, patch: Partial<SelectPatchesInput> = {}): SelectPatchesInput {
  return {
    slideId: result.slideId,
    slide: path.join(dir, `${result.slideId}.svs`),
    candidatesKey: result.keys.candidates,
    project: 'TCGA-LUAD',
    selection: defaults({ batchSize: 8 }),
    ...patch,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-select-'));
  store = new FsObjectStore({ root: path.join(dir, 'store') });
  modelDir = await writeTinyClipModel(path.join(dir, 'model'), { seed: 3, imageSize: 32 });
  model = await loadClipModel(modelDir);
  tiled = await tile('slide-a', 12000, 9000, 3);
}, 60_000);

afterAll(async () => {
  await model.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('selectPatches', () => {
  it('selects model-free by default, writes JPEGs and a selection record, and reuses a finished result', async () => {
    const result: SelectPatchesResult = await new MockActivityEnvironment().run(
      activities().selectPatches,
      input(tiled),
    );
    expect(result.mode).toBe('model-free');
    expect(result.candidates).toBe(tiled.candidates);
    expect(result.selected).toBeGreaterThan(0);
    expect(result.selected).toBeLessThanOrEqual(Math.min(256, tiled.candidates));
    expect(result.patches).toHaveLength(result.selected);
    for (const patch of result.patches) {
      expect(await store.exists(patch.key)).toBe(true);
      expect(patch.mpp).toBeCloseTo(0.25);
    }
    const lines = (await store.get(result.keys.selection))
      .toString()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(result.selected);
    expect(lines[0]).toMatchObject({ priority: 1, level: 0, width: 672 });
    expect(lines[0].routes.length).toBeGreaterThan(0);
    const again: SelectPatchesResult = await new MockActivityEnvironment().run(
      activities().selectPatches,
      input(tiled),
    );
    expect(again).toMatchObject({ reused: true, prefix: result.prefix, selected: result.selected });
  });

  it('scores with a CLIP model against attribute prompts and report findings', async () => {
    await store.put('findings/slide-a/f.json', Buffer.from(JSON.stringify({ findings: ['acinar adenocarcinoma'] })));
    const clipInput = input(tiled, {
      findingsKey: 'findings/slide-a/f.json',
      selection: defaults({ model: modelDir, batchSize: 8, topAttributes: 5, topFindings: 5 }),
    });
    const result: SelectPatchesResult = await new MockActivityEnvironment().run(activities().selectPatches, clipInput);
    expect(result.mode).toBe('clip');
    expect(result.model).toMatch(/^clip:/);
    expect(result.counts).toMatchObject({ attributes: 5, findings: 5 });
    const summary = JSON.parse((await store.get(`${result.prefix}/summary.json`)).toString());
    expect(summary.prompts.findings).toEqual(['acinar adenocarcinoma']);
    expect(summary.routes).toEqual(expect.arrayContaining(['attributes', 'findings', 'cluster']));
  });

  it('after a crash mid-embedding, embeds only the unfinished batches and selects as a clean run does', async () => {
    const settings = defaults({ model: modelDir, batchSize: 4 });
    const crashed = input(tiled, { selection: settings, outputPrefix: 'select/crash' });
    const first = new MockActivityEnvironment();
    first.on('heartbeat', (details: SelectHeartbeat) => {
      if (details.phase === 'embedding' && details.batch >= 3) first.cancel();
    });
    await expect(first.run(activities().selectPatches, crashed)).rejects.toThrow();
    const resumed: SelectPatchesResult = await new MockActivityEnvironment().run(activities().selectPatches, crashed);
    expect(resumed.resumedBatches).toBeGreaterThanOrEqual(3);
    expect(resumed.resumedBatches).toBeLessThan(Math.ceil(tiled.candidates / 4));

    const clean: SelectPatchesResult = await new MockActivityEnvironment().run(
      activities().selectPatches,
      input(tiled, { selection: settings, outputPrefix: 'select/clean' }),
    );
    expect(clean.resumedBatches).toBe(0);
    const strip = (text: string) => text.replaceAll('select/crash', '').replaceAll('select/clean', '');
    expect(strip((await store.get(resumed.keys.selection)).toString())).toBe(
      strip((await store.get(clean.keys.selection)).toString()),
    );
  });

  it('with scaledDecode, embeds tiles decoded at 1/2: other embeddings and keys, within cosine 0.995', async () => {
    const run = async (scaledDecode: boolean): Promise<[SelectPatchesResult, Float32Array]> => {
      const result: SelectPatchesResult = await new MockActivityEnvironment().run(
        activities().selectPatches,
        input(tiled, { selection: defaults({ model: modelDir, batchSize: 16, scaledDecode }) }),
      );
      return [result, floats(await store.get(result.keys.embeddings))];
    };
    const [exact, exactRows] = await run(false);
    const [scaled, scaledRows] = await run(true);
    expect(scaled.prefix).not.toBe(exact.prefix);
    expect(scaledRows).toHaveLength(exactRows.length);
    expect(Buffer.from(scaledRows.buffer).equals(Buffer.from(exactRows.buffer))).toBe(false);
    const dim = model.config.embedDim;
    for (let row = 0; row < exact.candidates; row++) {
      const a = exactRows.subarray(row * dim, (row + 1) * dim);
      const b = scaledRows.subarray(row * dim, (row + 1) * dim);
      const dot = a.reduce((sum, value, i) => sum + value * b[i]!, 0);
      const norms = Math.hypot(...a) * Math.hypot(...b);
      expect(dot / norms).toBeGreaterThanOrEqual(0.995);
    }
  });

  it('keeps every candidate once when there are fewer than the targets, and works with one candidate', async () => {
    const small = await tile('slide-small', 2000, 1500, 4);
    expect(small.candidates).toBeGreaterThanOrEqual(1);
    const result: SelectPatchesResult = await new MockActivityEnvironment().run(
      activities().selectPatches,
      input(small, { selection: defaults({ duplicateMode: 'off' }) }),
    );
    expect(result.selected).toBe(small.candidates);
    expect(new Set(result.patches.map((patch) => patch.id)).size).toBe(small.candidates);

    const firstLine = (await store.get(small.keys.candidates)).toString().split('\n')[0]!;
    await store.put('one/candidates.jsonl', Buffer.from(`${firstLine}\n`));
    const one: SelectPatchesResult = await new MockActivityEnvironment().run(
      activities().selectPatches,
      input(small, { candidatesKey: 'one/candidates.jsonl', selection: defaults({ model: modelDir }) }),
    );
    expect(one).toMatchObject({ candidates: 1, selected: 1, mode: 'clip' });
  });
});
