// bench:select's agreement section for the 1/2 DCT-scaled feed: how close its embeddings are to the
// exact path's (cosine per candidate, min and mean), and whether the select stage keeps the same
// patches on the demo's slides with either path (selectSlide with the CLIP embedder, as
// workers/select-locally.ts runs it; attribute prompts of the slide's project, no findings).
import { join } from 'node:path';
import type { ClipModel } from '../activities/clip/index.js';
import { preprocessBatch } from '../activities/clip/preprocess.js';
import { noCheckpoint } from '../activities/select/batch-checkpoint.js';
import { buildPromptSet } from '../activities/select/index.js';
import { clipPatchEmbedder } from '../activities/select/patch-embedder.js';
import { selectSlide } from '../activities/select/select-slide.js';
import { selectionOptions } from '../activities/stages/select.js';
import { openSlide } from '../activities/wsi/open-slide.js';
import type { PatchCandidate } from '../activities/wsi/patch-grid.js';
import { readPatches } from '../activities/wsi/patch-reading.js';
import type { RgbImage, SlideReader } from '../activities/wsi/slide-reader.js';
import { planSlide } from '../activities/wsi/tissue-patch-plan.js';
import { writeDemoCohort } from '../workers/demo/demo-cohort.js';
import { PathgenConfig } from '../workers/config/schema.js';

export interface Agreement {
  min: number;
  mean: number;
  count: number;
}

/** Cosine of row i of `a` with row i of `b` (rows × dim), summarised. */
export function rowCosines(a: Float32Array, b: Float32Array, dim: number): Agreement {
  const rows = a.length / dim;
  let min = Infinity;
  let sum = 0;
  for (let row = 0; row < rows; row++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = row * dim; i < (row + 1) * dim; i++) {
      dot += a[i]! * b[i]!;
      na += a[i]! * a[i]!;
      nb += b[i]! * b[i]!;
    }
    const cosine = dot / Math.sqrt(na * nb);
    min = Math.min(min, cosine);
    sum += cosine;
  }
  return { min, mean: sum / rows, count: rows };
}

/** Every candidate's embedding through the feed at 1/`scaleDenom` (1: exact). */
export async function feedEmbeddings(
  reader: SlideReader,
  candidates: readonly PatchCandidate[],
  model: ClipModel,
  scaleDenom: number,
  batchSize: number,
): Promise<Float32Array> {
  const dim = model.config.embedDim;
  const out = new Float32Array(candidates.length * dim);
  let batch: RgbImage[] = [];
  let row = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    out.set(await model.embedImages(preprocessBatch(batch, model.config.preprocess), batch.length), row * dim);
    row += batch.length;
    batch = [];
  };
  for await (const patch of readPatches(reader, candidates, { scaleDenom })) {
    batch.push(patch.image);
    if (batch.length === batchSize) await flush();
  }
  await flush();
  return out;
}

export async function embeddingAgreement(
  reader: SlideReader,
  candidates: readonly PatchCandidate[],
  model: ClipModel,
  batchSize: number,
): Promise<Agreement> {
  const exact = await feedEmbeddings(reader, candidates, model, 1, batchSize);
  const scaled = await feedEmbeddings(reader, candidates, model, 2, batchSize);
  return rowCosines(exact, scaled, model.config.embedDim);
}

export interface DemoSelectionFigures {
  slide: string;
  candidates: number;
  selected: [number, number];
  same: boolean;
  onlyExact: string[];
  onlyScaled: string[];
  cosine: Agreement;
}

/** Writes the demo's three slides (as `pathgen demo` does) and selects on each with both paths. */
export async function demoSelections(dir: string, models: [string, ClipModel][]): Promise<void> {
  const config = PathgenConfig.parse({});
  const cohort = await writeDemoCohort(join(dir, 'demo'), { slides: 3 });
  const results = new Map<string, DemoSelectionFigures[]>();
  for (const slide of cohort.slides) {
    const reader = await openSlide(slide.path);
    try {
      const plan = await planSlide(reader, {
        patchSize: config.tile.patchSize,
        level: config.tile.level,
        minTissueFraction: config.tile.minTissueFraction,
        maskDownsample: config.tile.thumbnailDownsample,
        seed: config.tile.seed,
      });
      const candidates = plan.grid.candidates;
      const prompts = buildPromptSet({ project: slide.project, findings: [] });
      for (const [label, model] of models) {
        const run = (scaleDenom: number) =>
          selectSlide({
            reader,
            candidates,
            embedder: clipPatchEmbedder(model),
            scoring: { model, prompts },
            batchSize: config.select.batchSize,
            scaleDenom,
            checkpoint: noCheckpoint,
            selection: selectionOptions(config.select),
          });
        const exact = await run(1);
        const scaled = await run(2);
        const ids = (outcome: typeof exact) =>
          outcome.selection.patches.map(({ index }) => `${candidates[index]!.x}_${candidates[index]!.y}`);
        const [a, b] = [ids(exact), ids(scaled)];
        const figures: DemoSelectionFigures = {
          slide: slide.slideId,
          candidates: candidates.length,
          selected: [a.length, b.length],
          same: a.length === b.length && a.every((id) => b.includes(id)),
          onlyExact: a.filter((id) => !b.includes(id)),
          onlyScaled: b.filter((id) => !a.includes(id)),
          cosine: rowCosines(exact.embeddings, scaled.embeddings, exact.dim),
        };
        results.set(label, [...(results.get(label) ?? []), figures]);
      }
    } finally {
      await reader.close();
    }
  }
  for (const [label, slides] of results) {
    const same = slides.filter((s) => s.same).length;
    console.log(
      `demo slides, ${label}: same selection exact vs 1/2 on ${same} of ${slides.length} slides; ` +
        slides
          .map(
            (s) =>
              `${s.slide} ${s.selected[0]}/${s.selected[1]} of ${s.candidates}` +
              `${s.same ? ' same' : ` differ (only exact ${s.onlyExact.join(' ')}; only 1/2 ${s.onlyScaled.join(' ')})`}` +
              ` cosine min ${s.cosine.min.toFixed(5)} mean ${s.cosine.mean.toFixed(5)}`,
          )
          .join('; '),
    );
  }
}
