import { PathgenError } from '../../activities/common/errors.js';
import type { RunSettings } from '../../activities/contracts/run-settings.js';
import { deepMerge, formatConfigIssues } from './load-config.js';
import { PathgenConfig } from './schema.js';

// A run's settings: this worker's config with the run input's overrides on top, validated by the
// same schema as the config file, so a misspelt override is an error that names it.

const overridable = new Set(['tile', 'select', 'run', 'agents', 'review']);

export function runSettingsFrom(config: PathgenConfig): RunSettings {
  const { executionProviders: _providers, intraOpThreads: _threads, model, scaledDecode, ...select } = config.select;
  return {
    taskQueues: config.taskQueues,
    tiling: config.tile,
    selection: { ...select, ...(model !== undefined ? { model } : {}), ...(scaledDecode ? { scaledDecode } : {}) },
    agentBatchSize: config.agents.batchSize,
    agentBatchesInParallel: config.run.agentBatchesInParallel,
    maxInFlight: config.run.maxInFlight,
    manifestPageSize: config.run.manifestPageSize,
    historyEventBudget: config.run.historyEventBudget,
    export: config.run.export,
    ...(config.review.gate ? { reviewGate: config.review.gate } : {}),
  };
}

export function resolveRunSettings(config: PathgenConfig, overrides: unknown): RunSettings {
  if (overrides === undefined || overrides === null) return runSettingsFrom(config);
  if (typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new PathgenError('InvalidInput', 'settings must be an object like {"tile": {...}, "select": {...}}');
  }
  const unknown = Object.keys(overrides).filter((key) => !overridable.has(key));
  if (unknown.length > 0) {
    throw new PathgenError(
      'InvalidInput',
      `settings may override ${[...overridable].join(', ')}; not ${unknown.join(', ')}`,
      { keys: unknown },
    );
  }
  const agentsOverride = (overrides as { agents?: unknown }).agents;
  if (
    agentsOverride !== undefined &&
    (typeof agentsOverride !== 'object' ||
      agentsOverride === null ||
      Object.keys(agentsOverride).some((key) => key !== 'batchSize'))
  ) {
    throw new PathgenError(
      'InvalidInput',
      "settings.agents may only set batchSize (model servers are the workers' config)",
    );
  }
  const reviewOverride = (overrides as { review?: unknown }).review;
  if (
    reviewOverride !== undefined &&
    (typeof reviewOverride !== 'object' ||
      reviewOverride === null ||
      Object.keys(reviewOverride).some((key) => key !== 'gate'))
  ) {
    throw new PathgenError(
      'InvalidInput',
      'settings.review may only set gate (reviewers are the config of who reviews)',
    );
  }
  const merged = deepMerge(config, overrides as Record<string, unknown>);
  const result = PathgenConfig.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    throw new PathgenError('InvalidInput', `invalid run settings:\n${formatConfigIssues(issues)}`, { issues });
  }
  return runSettingsFrom(result.data);
}
