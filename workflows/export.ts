import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ExportActivities, ExportRunInput, ExportRunResult } from '../activities/stages/export.js';
import type { RunSettings } from '../activities/contracts/run-settings.js';
import { exportActivityOptions } from './activity-options.js';

// Export a finished run again on its own (after a slide was reset, or with other shard sizes):
// `temporal workflow start --type pathgenExport --input '{"runId": "..."}'`. A new version is
// written beside the old one and the pointer flips, so readers never see a mix.

export interface PathgenExportInput {
  runId: string;
  samplesPerShard?: number;
  formats?: { webdataset?: boolean; csv?: boolean; pathgenJson?: boolean };
}

/** A new export version name from workflow time, e.g. `v20261129T093012345Z`. */
export function exportVersion(now: Date): string {
  return `v${now.toISOString().replace(/[-:.]/g, '')}`;
}

/** The export a run asks for at its end: a new version named from `now`, as the run's settings say. */
export function runExportInput(runId: string, settings: RunSettings['export'], now: Date): ExportRunInput {
  return {
    runId,
    version: exportVersion(now),
    createdAt: now.toISOString(),
    samplesPerShard: settings.samplesPerShard,
    formats: { webdataset: settings.webdataset, csv: settings.csv, pathgenJson: settings.pathgenJson },
  };
}

export async function pathgenExport(input: PathgenExportInput): Promise<ExportRunResult> {
  const { exportRun } = proxyActivities<ExportActivities>(exportActivityOptions(workflowInfo().taskQueue));
  const now = new Date();
  return await exportRun({
    runId: input.runId,
    version: exportVersion(now),
    createdAt: now.toISOString(),
    ...(input.samplesPerShard !== undefined ? { samplesPerShard: input.samplesPerShard } : {}),
    ...(input.formats ? { formats: input.formats } : {}),
  });
}
