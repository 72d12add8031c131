import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { RunSettingsOverrides } from '../activities/contracts/run-settings.js';
import type { SlideJob } from '../activities/contracts/slide-job.js';
import type { MaterializeActivities } from '../activities/stages/materialize.js';
import type { RetryFailures } from '../activities/stages/agents.js';
import type {
  CountedSlide,
  ManifestCursor,
  ManifestRef,
  PrepareRunResult,
  RunActivities,
} from '../activities/stages/run.js';
import { materializeActivityOptions } from './activity-options.js';
import { emptyProgress, type RunProgress } from './run-progress.js';
import { slideStages } from './slide-plan.js';

// What a run holds between workflow tasks and carries over continue-as-new: counts, cursors and
// the short queue of slides to start next. Everything large stays in the store.

export interface PathgenRunInput {
  runId: string;
  /** The slides to run the PathGen pipeline on (absent in materialize mode). */
  manifest?: ManifestRef;
  /**
   * Materialize mode: rebuild a dataset in PathGen-1.6M's released format from the lab's own slides
   * (crops at the listed positions with the listed captions; no selection, no agents).
   */
  materialize?: { pathgenJson: string; lookup: string };
  settings?: RunSettingsOverrides;
  /** Start this execution by rerunning what failed in an earlier, finished execution of the run. */
  rerunFailed?: RerunFailedOptions;
  /** Carried over continue-as-new; never set by people. */
  state?: RunState;
}

/**
 * What `rerunFailed` reruns: failed slides, and completed slides' failed patches (not with
 * `slidesOnly`), of one reason (a slide's failure type or a patch failure code) or all.
 */
export interface RerunFailedOptions {
  reason?: string;
  slidesOnly?: boolean;
}

/** A slide to start, and the failure it is rerun for (when this execution counted that failure). */
export interface PendingSlide {
  job: SlideJob;
  previousFailure?: string;
  /** What the slide's earlier record added to this execution's progress, taken back when it ends again. */
  previous?: CountedSlide;
  /** A rerun's patch failures to compute again (AgentBatchInput.retryFailures). */
  retryFailures?: RetryFailures;
}

export interface RunState {
  prepared: PrepareRunResult;
  progress: RunProgress;
  cursor?: ManifestCursor;
  manifestDone: boolean;
  /**
   * A scan of failed slide records to rerun, and where it is. `counted`: the failures being rerun
   * are in this progress already (an update), not from an earlier execution (a rerun start).
   */
  rerun?: { reason?: string; slidesOnly?: boolean; startAfter?: string; counted: boolean };
  pending: PendingSlide[];
  /** Materialize mode: record errors of the PathGen JSON, for the dataset card. */
  materializeErrors?: Record<string, number>;
  startedAtMs: number;
  maxInFlight: number;
  paused: boolean;
  /** The review gate's approval of the coming export (run-review-gate.ts). */
  exportApproval?: { by: string; atMs: number };
}

/** A new run's state: settings resolved, the manifest checked (or the PathGen JSON grouped), totals known. */
export async function startState(input: PathgenRunInput, bootstrap: RunActivities): Promise<RunState> {
  const rerun = input.rerunFailed !== undefined;
  if (!input.manifest === !input.materialize) {
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      message: 'a run takes either a manifest or materialize: {pathgenJson, lookup}',
      nonRetryable: true,
    });
  }
  const prepared = await bootstrap.prepareRun({
    runId: input.runId,
    ...(rerun || !input.manifest ? {} : { manifest: input.manifest }),
    ...(input.settings ? { settings: input.settings } : {}),
  });
  const progress = emptyProgress(input.runId, prepared.settings.maxInFlight);
  let materializeErrors: Record<string, number> | undefined;
  if (input.materialize) {
    const { groupMaterializeInput } = proxyActivities<MaterializeActivities>(
      materializeActivityOptions(prepared.settings.taskQueues.cpu),
    );
    const grouped = await groupMaterializeInput({ runId: input.runId, ...input.materialize });
    materializeErrors = Object.fromEntries(Object.entries(grouped.errorCounts).filter(([, count]) => count > 0));
    progress.patchFailuresByReason = { ...materializeErrors };
    if (!rerun) progress.total = grouped.slides;
  } else if (!rerun) {
    progress.total = prepared.rows;
    progress.failed = prepared.badRows;
    if (prepared.badRows > 0) progress.failuresByReason.InvalidManifestRow = prepared.badRows;
    progress.manifestErrors = prepared.firstErrors;
  }
  for (const stage of slideStages.slice(0, -1)) progress.stages[stage] = { done: 0, total: progress.total };
  return {
    prepared,
    progress,
    manifestDone: rerun,
    ...(rerun
      ? {
          rerun: { ...rerunOf(input.rerunFailed), counted: false },
        }
      : {}),
    pending: [],
    ...(materializeErrors ? { materializeErrors } : {}),
    startedAtMs: Date.now(),
    maxInFlight: prepared.settings.maxInFlight,
    paused: false,
  };
}

/** The options of a rerun as the run keeps them (only those set). */
export function rerunOf(options: RerunFailedOptions | undefined): { reason?: string; slidesOnly?: boolean } {
  return {
    ...(options?.reason !== undefined ? { reason: options.reason } : {}),
    ...(options?.slidesOnly === true ? { slidesOnly: true } : {}),
  };
}
