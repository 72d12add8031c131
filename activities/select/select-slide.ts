import { embedInBatches } from '../clip/embedding-pipeline.js';
import type { BatchTiming } from '../clip/embedding-pipeline.js';
import type { ClipModel } from '../clip/clip-model.js';
import { scoreMatrix, selectRepresentatives } from './index.js';
import type { PromptSet, Selection, SelectionOptions } from './index.js';
import type { PatchCandidate } from '../wsi/patch-grid.js';
import { readPatches } from '../wsi/patch-reading.js';
import type { SlideReader } from '../wsi/slide-reader.js';
import type { BatchCheckpoint, EmbeddedBatch } from './batch-checkpoint.js';
import { standardiseRows } from './model-free-features.js';
import { patchMpp } from './patch-mpp.js';
import type { PatchEmbedder, PatchInBatch } from './patch-embedder.js';

// The select stage for one slide, with no Temporal and no store in sight: embed every candidate in
// checkpointed batches, score against the slide's prompts (CLIP mode), and pick the representatives.
// The activity and the `pathgen select` command both run this.

export type SelectProgress =
  | { phase: 'embedding'; batch: number; batches: number; embedded: number; total: number; resumedBatches: number }
  | { phase: 'selecting'; total: number };

export interface SelectSlideInput {
  reader: SlideReader;
  candidates: readonly PatchCandidate[];
  /** The slide's level-0 µm/px when its file lacks it or is wrong. */
  mppOverride?: number;
  embedder: PatchEmbedder;
  /** CLIP mode: the model that embeds the prompts, and the slide's prompt set. */
  scoring?: { model: ClipModel; prompts: PromptSet };
  batchSize: number;
  /**
   * CLIP mode: read candidates with JPEG tiles decoded at 1/n (readCandidateScaled), since the
   * model's preprocessing shrinks them anyway. Model-free mode measures exact pixels and ignores it.
   */
  scaleDenom?: number;
  checkpoint: BatchCheckpoint;
  selection: SelectionOptions;
  signal?: AbortSignal;
  onProgress?: (progress: SelectProgress) => void;
}

export interface SlideSelection {
  selection: Selection;
  /** N × dim rows as they were selected on (L2-normalised). */
  embeddings: Float32Array;
  dim: number;
  quality: Float32Array;
  batches: number;
  /** Batches found complete in the checkpoint and not embedded again. */
  resumedBatches: number;
  timings: BatchTiming[];
}

export async function selectSlide(input: SelectSlideInput): Promise<SlideSelection> {
  const { candidates, embedder, batchSize, checkpoint, signal } = input;
  const total = candidates.length;
  const dim = embedder.dim;
  const batches = Math.ceil(total / batchSize);
  const embeddings = new Float32Array(total * dim);
  const quality = new Float32Array(total);
  const store = (batch: number, data: EmbeddedBatch) => {
    embeddings.set(data.embeddings, batch * batchSize * dim);
    quality.set(data.quality, batch * batchSize);
  };
  const rowsOf = (batch: number) => Math.min(batchSize, total - batch * batchSize);

  // Finished batches form a prefix: an attempt embeds in order and checkpoints each batch as it ends.
  let resumed = 0;
  while (resumed < batches) {
    const done = await checkpoint.load(resumed, rowsOf(resumed), dim);
    if (!done) break;
    store(resumed, done);
    resumed += 1;
  }
  const report = (batch: number) =>
    input.onProgress?.({
      phase: 'embedding',
      batch,
      batches,
      embedded: Math.min(total, batch * batchSize),
      total,
      resumedBatches: resumed,
    });
  report(resumed);

  const mppOf = (candidate: PatchCandidate) => patchMpp(input.reader, candidate, input.mppOverride);
  const patches = readPatches(input.reader, candidates, {
    startIndex: resumed * batchSize,
    ...(embedder.mode === 'clip' && input.scaleDenom ? { scaleDenom: input.scaleDenom } : {}),
    ...(signal ? { signal } : {}),
  });
  const inBatch = async function* (): AsyncGenerator<PatchInBatch> {
    for await (const patch of patches) {
      const mpp = mppOf(patch.candidate);
      yield { image: patch.image, tissue: patch.candidate.tissue, ...(mpp !== undefined ? { mpp } : {}) };
    }
  };
  const pipeline = await embedInBatches(inBatch(), {
    batchSize,
    prepare: (batch) => embedder.prepare(batch),
    run: (prepared, count) => embedder.run(prepared, count),
    onBatch: async (index, data) => {
      const batch = resumed + index;
      await checkpoint.save(batch, data);
      store(batch, data);
      report(batch + 1);
    },
    ...(signal ? { signal } : {}),
  });

  input.onProgress?.({ phase: 'selecting', total });
  const rows = embedder.mode === 'model-free' ? standardiseRows(embeddings, total, dim) : embeddings;
  const scores = input.scoring ? await promptScores(input.scoring, rows, total) : {};
  const selection = await selectRepresentatives(
    { count: total, dimension: dim, embeddings: rows, quality, ...scores },
    { ...input.selection, mode: input.scoring ? 'clip' : 'model-free', ...(signal ? { signal } : {}) },
  );
  return { selection, embeddings: rows, dim, quality, batches, resumedBatches: resumed, timings: pipeline.batches };
}

async function promptScores(
  scoring: NonNullable<SelectSlideInput['scoring']>,
  images: Float32Array,
  count: number,
): Promise<{ attributeScores?: Float32Array; findingScores?: Float32Array }> {
  const { model, prompts } = scoring;
  const { embedDim, logitScale } = model.config;
  const score = async (texts: readonly string[]) =>
    texts.length === 0
      ? undefined
      : scoreMatrix(images, await model.embedTexts(texts), count, texts.length, embedDim, logitScale);
  const attributeScores = await score(prompts.attributes);
  const findingScores = await score(prompts.findings);
  return {
    ...(attributeScores ? { attributeScores } : {}),
    ...(findingScores ? { findingScores } : {}),
  };
}
