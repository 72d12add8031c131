import type { SelectionSettings } from '../stages/select.js';
import type { TilingOptions } from '../stages/tile.js';

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
}

/** The parts of the config a run input may override, in the config file's shape. */
export interface RunSettingsOverrides {
  tile?: Record<string, unknown>;
  select?: Record<string, unknown>;
  run?: Record<string, unknown>;
  agents?: { batchSize?: number };
}
