import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClipModel, type ClipModel } from '../../activities/clip/index.js';
import { measurementsVersion } from '../../activities/histology/index.js';
import { noCheckpoint } from '../../activities/select/batch-checkpoint.js';
import { buildPromptSet } from '../../activities/select/index.js';
import {
  clipPatchEmbedder,
  modelFreePatchEmbedder,
  type PatchEmbedder,
} from '../../activities/select/patch-embedder.js';
import { selectSlide } from '../../activities/select/select-slide.js';
import { openSlide } from '../../activities/wsi/open-slide.js';
import type { PatchCandidate } from '../../activities/wsi/patch-grid.js';
import type { SlideReader } from '../../activities/wsi/slide-reader.js';
import { planSlide } from '../../activities/wsi/tissue-patch-plan.js';
import { runSettingsFrom } from '../../workers/config/run-settings.js';
import { PathgenConfig } from '../../workers/config/schema.js';
import { writeTinyClipModel } from '../../workers/synthetic/clip-models/tiny-clip-model.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

// select.scaledDecode: the select stage reads its candidates with JPEG tiles decoded at 1/2 when
// asked (CLIP mode only) and exactly otherwise, and the two paths' embeddings agree (cosine ≥ 0.995
// per candidate) on a tiny CLIP model that sees 224 px, the size the scaled feed is for.

let dir: string;
let reader: SlideReader;
let model: ClipModel;
let candidates: PatchCandidate[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-scaled-select-'));
  const slide = await writeSyntheticSvs(join(dir, 'slide.svs'), {
    width: 6000,
    height: 5000,
    seed: 21,
    jpegColour: 'ycbcr-420',
    quality: 85,
  });
  reader = await openSlide(slide.path);
  candidates = (await planSlide(reader, { patchSize: 672, minTissueFraction: 0.5 })).grid.candidates;
  model = await loadClipModel(await writeTinyClipModel(join(dir, 'model'), { seed: 4, imageSize: 224 }));
}, 60_000);

afterAll(async () => {
  await model?.dispose();
  await reader?.close();
  await rm(dir, { recursive: true, force: true });
});

/** selectSlide on a reader that counts which read each candidate went through. */
async function select(embedder: PatchEmbedder, scaleDenom?: number) {
  const calls = { read: 0, readScaled: 0 };
  const counting: SlideReader = {
    ...reader,
    read: (...args) => {
      calls.read++;
      return reader.read(...args);
    },
    readScaled: (...args) => {
      calls.readScaled++;
      return reader.readScaled!(...args);
    },
  };
  const outcome = await selectSlide({
    reader: counting,
    candidates,
    embedder,
    ...(embedder.mode === 'clip' ? { scoring: { model, prompts: buildPromptSet({ project: 'TCGA-BRCA' }) } } : {}),
    batchSize: 8,
    ...(scaleDenom ? { scaleDenom } : {}),
    checkpoint: noCheckpoint,
    selection: { seed: 0 },
  });
  return { outcome, calls };
}

describe('selectSlide with scaleDenom 2', () => {
  it('reads every candidate through readScaled, and embeds within cosine 0.995 of the exact read', async () => {
    expect(candidates.length).toBeGreaterThanOrEqual(8);
    const exact = await select(clipPatchEmbedder(model));
    const scaled = await select(clipPatchEmbedder(model), 2);
    expect(exact.calls).toEqual({ read: candidates.length, readScaled: 0 });
    expect(scaled.calls).toEqual({ read: 0, readScaled: candidates.length });
    const dim = exact.outcome.dim;
    let lowest = 1;
    for (let row = 0; row < candidates.length; row++) {
      const a = exact.outcome.embeddings.subarray(row * dim, (row + 1) * dim);
      const b = scaled.outcome.embeddings.subarray(row * dim, (row + 1) * dim);
      const dot = a.reduce((sum, value, i) => sum + value * b[i]!, 0);
      lowest = Math.min(lowest, dot / (Math.hypot(...a) * Math.hypot(...b)));
    }
    expect(lowest).toBeGreaterThanOrEqual(0.995);
    expect(lowest).toBeLessThan(1);
  });

  it('is ignored in model-free mode, whose measurements need the exact pixels', async () => {
    const { calls } = await select(modelFreePatchEmbedder(measurementsVersion), 2);
    expect(calls).toEqual({ read: candidates.length, readScaled: 0 });
  });
});

describe('select.scaledDecode in run settings', () => {
  it('is off by default and then absent, so default settings keep their selection hash', () => {
    const off = runSettingsFrom(PathgenConfig.parse({})).selection;
    expect(off).not.toHaveProperty('scaledDecode');
    const on = runSettingsFrom(PathgenConfig.parse({ select: { scaledDecode: true } })).selection;
    expect(on.scaledDecode).toBe(true);
  });
});
