// Everything a run decides once, at its start, and hands to every slide: resolved from the worker's
// config (defaults < config file < PATHGEN_* env) and the run input's overrides, then fixed for the
// life of the run so a slide rerun days later is processed the same way.

export interface RunSettings {
  taskQueues: { cpu: string; gpu: string; agents: string };
  tiling: Omit<TilingOptions, 'mppOverride'>;
  selection: SelectionSettings;
  agentBatchSize: number;
  agentBatchesInParallel: number;
  maxInFlight: number;
  manifestPageSize: number;
  historyEventBudget: number;
  export: { enabled: boolean; samplesPerShard: number; webdataset: boolean; csv: boolean; pathgenJson: boolean };
  /** Present only with a review gate: the run waits for `approveExport` before it exports. */
  reviewGate?: ReviewGate;
}

/** The review a run's samples need before its export (config `review.gate`). */
export interface ReviewGate {
  /** Reviewed samples each slide needs (a slide with fewer samples needs all of them). */
  samplesPerSlide: number;
  /** The largest share of reviewed samples that may be flagged. */
  maxFlagRate: number;
}

/** The parts of the config a run input may override, in the config file's shape. */
export interface RunSettingsOverrides {
  tile?: Record<string, unknown>;
  select?: Record<string, unknown>;
  run?: Record<string, unknown>;
  agents?: { batchSize?: number };
  review?: { gate?: ReviewGate };
}

/** How the tile stage lays a slide's candidate grid; part of its output's identity. */
export interface TilingOptions {
  patchSize: number;
  level: number;
  targetMpp?: number;
  /** The slide's level-0 µm/px when its file lacks it or is wrong (from the manifest). */
  mppOverride?: number;
  minTissueFraction: number;
  thumbnailDownsample: number;
  maxCandidates?: number;
  seed: number;
  writePatches: boolean;
}

/** The run-level choices of the stage; part of its output's identity. */
export interface SelectionSettings {
  /** CLIP model directory (path or store prefix); absent: model-free. */
  model?: string;
  topAttributes: number;
  topFindings: number;
  topQuality: number;
  kPolicy: 'sqrtPatches' | 'sqrtBatches';
  k?: number;
  kmeansMaxIterations: number;
  clusterTarget: number;
  perClusterMin: number;
  clusterSampling: 'random' | 'nearest';
  duplicateThreshold: number;
  duplicateMode: 'greedy' | 'probabilistic' | 'off';
  maxPerSlide: number;
  seed: number;
  jpegQuality: number;
  /** Patches per embedding batch and per checkpoint. */
  batchSize: number;
  /**
   * CLIP mode: candidates' JPEG tiles decoded at 1/2 before the model's resize. Present only when
   * true, so settings without it keep the output identity (selection hash) they always had.
   */
  scaledDecode?: boolean;
}
