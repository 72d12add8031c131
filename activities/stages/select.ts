import type { SelectionSettings } from '../contracts/run-settings.js';
import { selectKeys } from '../contracts/keys.js';
import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { PatchRef } from './agents.js';
import { readFindings } from './agents.js';
import { withTypedFailures } from '../runtime/activity-failure.js';
import type { ClipModel } from '../clip/clip-model.js';
import { whileHeartbeating } from '../runtime/heartbeat.js';
import { measurementsVersion } from '../histology/index.js';
import { storeBatchCheckpoint, bytesOf } from '../select/batch-checkpoint.js';
import { clipPatchEmbedder, modelFreePatchEmbedder } from '../select/patch-embedder.js';
import type { PatchEmbedder } from '../select/patch-embedder.js';
import { patchMpp } from '../select/patch-mpp.js';
import { selectionLines, selectionSummary } from '../select/selection-record.js';
import { selectSlide } from '../select/select-slide.js';
import type { SelectProgress } from '../select/select-slide.js';
import { attributePromptsHash, buildPromptSet } from '../select/index.js';
import type { SelectionOptions } from '../select/index.js';
import { localSlidePath, workerSlideOptions } from '../staging/local-slide.js';
import { getIfExists } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { openSlide } from '../wsi/open-slide.js';
import { readCandidate } from '../wsi/patch-reading.js';
import { parseCandidatesJsonl } from '../wsi/tissue-patch-plan.js';

// The select stage on the GPU queue: a slide's candidates → embeddings (checkpointed per batch) →
// PathGen's routes → the selected patches as JPEG and a selection record in the store. The result
// carries counts and the selected patches' keys, never pixels or embeddings.

export interface SelectPatchesInput {
  slideId: string;
  slide: string;
  /** The tile stage's candidates.jsonl. */
  candidatesKey: string;
  project: string;
  findingsKey?: string;
  mppOverride?: number;
  selection: SelectionSettings;
  /** Default `select/<slideId>/<hash of inputs and settings>`. */
  outputPrefix?: string;
}

export interface SelectPatchesResult {
  slideId: string;
  prefix: string;
  mode: 'clip' | 'model-free';
  model: string;
  candidates: number;
  selected: number;
  k: number;
  counts: Record<string, number>;
  resumedBatches: number;
  keys: { selection: string; summary: string; result: string; embeddings: string };
  patches: PatchRef[];
  reused: boolean;
}

export type SelectHeartbeat =
  SelectProgress | { phase: 'opening' } | { phase: 'writing'; written: number; total: number };

export interface SelectDeps {
  store: ObjectStore;
  slideCacheDir: string;
  slideCacheMaxBytes: number;
  /** Loads (or returns the cached) CLIP model for a model reference, with this worker's providers. */
  loadClipModel: (model: string, signal: AbortSignal) => Promise<ClipModel>;
}

export function createSelectActivities(deps: SelectDeps) {
  return {
    selectPatches: (input: SelectPatchesInput) => withTypedFailures(() => selectPatches(deps, input)),
  };
}

export type SelectActivities = ReturnType<typeof createSelectActivities>;

async function selectPatches(deps: SelectDeps, input: SelectPatchesInput): Promise<SelectPatchesResult> {
  const context = Context.current();
  const signal = context.cancellationSignal;
  const prefix = input.outputPrefix ?? selectKeys.prefix(input.slideId, selectionHash(input));
  const keys = {
    selection: selectKeys.selection(prefix),
    summary: selectKeys.summary(prefix),
    result: selectKeys.result(prefix),
    embeddings: selectKeys.embeddings(prefix),
  };
  const done = await getIfExists(deps.store, keys.result);
  if (done) return { ...(JSON.parse(done.toString()) as SelectPatchesResult), reused: true };

  const candidates = parseCandidatesJsonl(
    (await deps.store.get(input.candidatesKey)).toString('utf8'),
    input.candidatesKey,
  );
  const findings = await readFindings(deps.store, input.findingsKey);
  const model = input.selection.model ? await deps.loadClipModel(input.selection.model, signal) : undefined;
  const embedder: PatchEmbedder = model ? clipPatchEmbedder(model) : modelFreePatchEmbedder(measurementsVersion);
  const prompts = buildPromptSet({ project: input.project, findings });

  let progress: SelectHeartbeat = { phase: 'opening' };
  const localPath = await localSlidePath(deps, input.slide, signal);
  const reader = await whileHeartbeating(
    () => progress,
    () => openSlide(localPath, workerSlideOptions(deps, signal)),
  );
  try {
    const outcome = await whileHeartbeating(
      () => progress,
      () =>
        selectSlide({
          reader,
          candidates,
          embedder,
          ...(model ? { scoring: { model, prompts } } : {}),
          ...(input.mppOverride !== undefined ? { mppOverride: input.mppOverride } : {}),
          batchSize: input.selection.batchSize,
          ...(input.selection.scaledDecode ? { scaleDenom: 2 } : {}),
          checkpoint: storeBatchCheckpoint(deps.store, selectKeys.batches(prefix)),
          selection: selectionOptions(input.selection),
          signal,
          onProgress: (next) => {
            progress = next;
            context.heartbeat(next);
          },
        }),
    );
    const chosen = outcome.selection.patches.map((patch) => ({ patch, candidate: candidates[patch.index]! }));
    const patches: PatchRef[] = [];
    for (const [written, { candidate }] of chosen.entries()) {
      signal.throwIfAborted();
      const id = `${candidate.x}_${candidate.y}`;
      const key = selectKeys.patch(prefix, id);
      const image = await readCandidate(reader, candidate);
      const jpeg = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
        .jpeg({ quality: input.selection.jpegQuality, chromaSubsampling: '4:4:4' })
        .toBuffer();
      await deps.store.put(key, jpeg, { contentType: 'image/jpeg' });
      const mpp = patchMpp(reader, candidate, input.mppOverride);
      patches.push({ id, key, level: candidate.level, size: candidate.width, ...(mpp !== undefined ? { mpp } : {}) });
      progress = { phase: 'writing', written: written + 1, total: chosen.length };
    }
    await deps.store.put(keys.embeddings, bytesOf(outcome.embeddings), { contentType: 'application/octet-stream' });
    await deps.store.put(
      keys.selection,
      Buffer.from(
        selectionLines(
          outcome.selection,
          candidates,
          patches.map((patch) => patch.key),
        ),
      ),
      { contentType: 'application/x-ndjson' },
    );
    const summary = {
      slideId: input.slideId,
      project: input.project,
      model: embedder.identity,
      embeddingDim: outcome.dim,
      prompts: {
        version: prompts.version,
        hash: prompts.hash,
        attributesHash: attributePromptsHash,
        findings: prompts.findings,
      },
      settings: input.selection,
      ...selectionSummary(outcome.selection),
    };
    await deps.store.put(keys.summary, Buffer.from(`${JSON.stringify(summary, null, 2)}\n`), {
      contentType: 'application/json',
    });
    const { counts } = outcome.selection;
    const result: SelectPatchesResult = {
      slideId: input.slideId,
      prefix,
      mode: outcome.selection.mode,
      model: embedder.identity,
      candidates: candidates.length,
      selected: patches.length,
      k: outcome.selection.k,
      counts: { ...counts },
      resumedBatches: outcome.resumedBatches,
      keys,
      patches,
      reused: false,
    };
    await deps.store.put(keys.result, Buffer.from(`${JSON.stringify(result)}\n`), { contentType: 'application/json' });
    return result;
  } finally {
    await reader.close();
  }
}

/** The stage's settings as the selection rules take them. */
export function selectionOptions(settings: Omit<SelectionSettings, 'jpegQuality' | 'batchSize'>): SelectionOptions {
  return {
    topAttributes: settings.topAttributes,
    topFindings: settings.topFindings,
    topQuality: settings.topQuality,
    kPolicy: settings.kPolicy,
    ...(settings.k !== undefined ? { k: settings.k } : {}),
    perClusterMin: settings.perClusterMin,
    clusterTarget: settings.clusterTarget,
    clusterSampling: settings.clusterSampling,
    duplicateThreshold: settings.duplicateThreshold,
    duplicateMode: settings.duplicateMode,
    maxPerSlide: settings.maxPerSlide,
    seed: settings.seed,
    kmeans: { maxIterations: settings.kmeansMaxIterations },
  };
}

/** Same candidates, prompts' inputs and settings → same keys: a retry or a rerun finds its earlier work. */
export function selectionHash(input: SelectPatchesInput): string {
  const identity = [
    input.slide,
    input.candidatesKey,
    input.project,
    input.findingsKey ?? '',
    input.mppOverride ?? '',
    input.selection,
  ];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}
