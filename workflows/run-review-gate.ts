import {
  ApplicationFailure,
  condition,
  defineUpdate,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ReviewActivities } from '../activities/stages/review.js';
import { runBookkeepingOptions } from './activity-options.js';
import type { RunProgress } from './run-progress.js';
import type { RunState } from './run-state.js';
import { PathgenStatus } from './search-attributes.js';

// The human review gate: a run whose settings have `review.gate` finishes its slides, then waits
// (durably: a condition costs no history while it waits, for days if need be) for `approveExport`
// before it exports. The update asks an activity how far the review has come, and is refused with
// the reason while the reviewed sample is incomplete or too much of it is flagged.

export interface ApproveExportInput {
  /** Who approves, for the run's progress (the review app sends its reviewer). */
  by?: string;
}

export const approveExportUpdate = defineUpdate<RunProgress, [ApproveExportInput]>('approveExport');

export function installReviewGateHandler(view: { state(): RunState | undefined }, snapshot: () => RunProgress): void {
  setHandler(
    approveExportUpdate,
    async (input) => {
      const state = view.state()!;
      const gate = state.prepared.settings.reviewGate!;
      const { checkReviewGate } = proxyActivities<ReviewActivities>(
        runBookkeepingOptions(state.prepared.settings.taskQueues.cpu),
      );
      const check = await checkReviewGate({ runId: state.progress.runId, gate });
      state.progress.review = { ...state.progress.review!, status: check.message };
      if (!check.approvable) {
        throw ApplicationFailure.create({ type: 'ReviewIncomplete', message: check.message, nonRetryable: true });
      }
      state.exportApproval = { by: input?.by ?? 'unknown', atMs: Date.now() };
      return snapshot();
    },
    {
      // Refused before it reaches the history: only a run that waits for review can be approved.
      validator: (_input: ApproveExportInput) => {
        const state = view.state();
        if (state?.progress.phase !== 'awaiting-review') {
          throw new Error(
            `run is not waiting for review (phase ${state?.progress.phase ?? 'preparing'}${state?.prepared.settings.reviewGate ? '' : '; its settings have no review.gate'})`,
          );
        }
      },
    },
  );
}

/**
 * Waits for an approved review before the export, when the run has a gate. Returns false when a
 * rerun was asked for meanwhile (the run goes back to its slides, and asks again at its next end).
 */
export async function awaitExportApproval(state: RunState): Promise<boolean> {
  const gate = state.prepared.settings.reviewGate;
  if (!gate || !patched('review-gate')) return true;
  const { progress } = state;
  progress.phase = 'awaiting-review';
  progress.review = {
    samplesPerSlide: gate.samplesPerSlide,
    maxFlagRate: gate.maxFlagRate,
    status: progress.review?.status ?? 'waiting for review: send the approveExport update once the sample is reviewed',
  };
  // `temporal workflow list --query "PathgenStatus = 'awaiting-review'"` finds the runs that wait.
  upsertSearchAttributes([{ key: PathgenStatus, value: 'awaiting-review' }]);
  setCurrentDetails(`run ${progress.runId}: waiting for review (approveExport)`);
  await condition(() => state.exportApproval !== undefined || state.rerun !== undefined);
  upsertSearchAttributes([{ key: PathgenStatus, value: 'running' }]);
  if (state.exportApproval === undefined) return false;
  progress.review.approvedBy = state.exportApproval.by;
  // Each export of the run needs its own approval: a rerun's new samples are reviewed again.
  delete state.exportApproval;
  return true;
}
