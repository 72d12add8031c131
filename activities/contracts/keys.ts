// Every store key and every workflow id pathgen builds, in one place. They are durable names:
// reruns, resumed activities, exports and people's scripts find work by them, so changing one is a
// data migration, not a refactor. Pure functions only: workflows import this module at runtime.
// Prefixes written without a trailing slash are joined with '/'; those with one end in '/'.

// ---- workflow ids ----

export const workflowIds = {
  run: (runId: string): string => `pathgen-run-${runId}`,
  slide: (runId: string, slideId: string): string => `pathgen-slide-${runId}-${slideId}`,
  train: (trainId: string): string => `pathgen-train-${trainId}`,
  eval: (evalId: string): string => `pathgen-eval-${evalId}`,
  /** `pathgen review apply`'s re-export of a run with its reviews: unique per call. */
  reviewExport: (runId: string, nonce: string): string => `pathgen-review-export-${runId}-${nonce}`,
  /** `pathgen doctor`'s ping on one queue: unique per call, never reused. */
  doctor: (role: string, host: string, nonce: string): string => `pathgen-doctor-${role}-${host}-${nonce}`,
};

/** `pathgen doctor`'s put/get/delete probe of the store: unique per call, deleted at once. */
export const doctorProbeKey = (host: string, nonce: string): string => `_doctor/${host}-${nonce}.txt`;

// ---- a run: runs/<runId>/ ----

export const runKeys = {
  /** Every slide's record, written last by its slide workflow; the export reads these and nothing else. */
  slideRecord: (runId: string, slideId: string): string => `runs/${runId}/slides/${slideId}.json`,
  slideRecords: (runId: string): string => `runs/${runId}/slides/`,
  /** Every bad manifest row with its line and fields. */
  manifestErrors: (runId: string): string => `runs/${runId}/manifest-errors.jsonl`,
  /** The agents' per-patch results of one selection of a slide (its last prefix segment names the selection). */
  agents: (runId: string, slideId: string, selectPrefix: string): string =>
    `runs/${runId}/agents/${slideId}/${selectPrefix.split('/').pop() ?? 'selection'}`,
};

/**
 * Human reviews of a run's samples: one append-only record per action, never overwritten.
 * `at` is the action's time in compact ISO form (`20261207T165926123Z`), so records list in time order.
 */
export const reviewKeys = {
  records: (runId: string): string => `runs/${runId}/reviews/`,
  record: (runId: string, at: string, nonce: string): string => `runs/${runId}/reviews/${at}-${nonce}.json`,
  /** The reviews one export version honours, fixed at its start so a resumed export uses the same. */
  exportSnapshot: (versionPrefix: string): string => `${versionPrefix}reviews.json`,
};

/** Materialize mode's layout under `runs/<runId>/materialize/`. */
export const materializeKeys = {
  prefix: (runId: string): string => `runs/${runId}/materialize`,
  slides: (prefix: string): string => `${prefix}/slides.jsonl`,
  errors: (prefix: string): string => `${prefix}/errors.jsonl`,
  /** Written last by the grouping: its presence means the grouping is complete. */
  grouping: (prefix: string): string => `${prefix}/grouping.json`,
  groupedPatches: (prefix: string, slideId: string): string => `${prefix}/patches/${slideId}/`,
  groupedPatchesPart: (prefix: string, slideId: string, part: number): string =>
    `${prefix}/patches/${slideId}/part-${String(part).padStart(6, '0')}.jsonl`,
  groupedPatchesParts: (prefix: string, slideId: string): string => `${prefix}/patches/${slideId}/part-`,
  /** A crop, beside its slide's grouped parts. */
  crop: (prefix: string, slideId: string, patchId: string): string => `${prefix}/patches/${slideId}/${patchId}.jpg`,
  records: (prefix: string, slideId: string): string => `${prefix}/records/${slideId}/`,
  record: (prefix: string, slideId: string, patchId: string): string => `${prefix}/records/${slideId}/${patchId}.json`,
};

// ---- the slide stages ----

/** The tile stage's output for one slide and tiling: `tiles/<slideId>/<hash>`. */
export const tileKeys = {
  prefix: (slideId: string, tilingHash: string): string => `tiles/${slideId}/${tilingHash}`,
  candidates: (prefix: string): string => `${prefix}/candidates.jsonl`,
  metadata: (prefix: string): string => `${prefix}/metadata.json`,
  thumbnail: (prefix: string): string => `${prefix}/thumbnail.png`,
  result: (prefix: string): string => `${prefix}/result.json`,
  patches: (prefix: string): string => `${prefix}/patches`,
  patch: (prefix: string, patchId: string): string => `${prefix}/patches/${patchId}.png`,
};

/** The select stage's output for one slide and selection: `select/<slideId>/<hash>`. */
export const selectKeys = {
  prefix: (slideId: string, selectionHash: string): string => `select/${slideId}/${selectionHash}`,
  selection: (prefix: string): string => `${prefix}/selection.jsonl`,
  summary: (prefix: string): string => `${prefix}/summary.json`,
  result: (prefix: string): string => `${prefix}/result.json`,
  embeddings: (prefix: string): string => `${prefix}/embeddings.f32`,
  batches: (prefix: string): string => `${prefix}/batches`,
  patch: (prefix: string, patchId: string): string => `${prefix}/patches/${patchId}.jpg`,
};

/** One agent's record of one patch, under a selection's agents prefix (`runKeys.agents`). */
export const agentKeys = {
  stage: (agentsPrefix: string, stage: string, patchId: string): string => `${agentsPrefix}/${stage}/${patchId}.json`,
};

/** A report's findings, keyed by what produced them. */
export const findingsKey = (slideId: string, identity: string): string => `findings/${slideId}/${identity}.json`;

// ---- exports: exports/<runId>/ ----

export const exportKeys = {
  prefix: (runId: string): string => `exports/${runId}`,
  /** The pointer readers resolve to one whole version. */
  pointer: (exportPrefix: string): string => `${exportPrefix}/LATEST.json`,
  /** Every version, kept or not: what the clean-up lists. */
  versions: (exportPrefix: string): string => `${exportPrefix}/versions/`,
  version: (exportPrefix: string, version: string): string => `${exportPrefix}/versions/${version}/`,
};

// ---- training, models, evaluations, features ----

export const trainKeys = {
  prefix: (trainId: string): string => `training/${trainId}/`,
  stage: (trainId: string, stageName: string): string => `training/${trainId}/stages/${stageName}/`,
  checkpoints: (stagePrefix: string): string => `${stagePrefix}checkpoints/`,
  /** Written last by the stage: its presence means the stage is done. */
  result: (stagePrefix: string): string => `${stagePrefix}result.json`,
  log: (stagePrefix: string, attempt: string): string => `${stagePrefix}logs/${attempt}.log`,
  params: (stagePrefix: string): string => `${stagePrefix}params.txt`,
};

export const modelPrefix = (modelId: string): string => `models/${modelId}/`;

export const evalReportPrefix = (evalId: string): string => `evals/${evalId}`;

export const featureKeys = {
  image: (modelKey: string, contentHash: string): string =>
    `features/${modelKey}/${contentHash.slice(0, 2)}/${contentHash}.f32`,
  slide: (modelKey: string, identity: string): string => `features/${modelKey}/slides/${identity}.f32`,
};
