import type { RetryFailures } from '../activities/stages/agents.js';
import type { CountedSlide, FailedSlide } from '../activities/stages/run.js';
import { addCount, type RunProgress } from './run-progress.js';
import type { PendingSlide, RunState } from './run-state.js';
import { slideStages } from './slide-plan.js';

// How a rerun's slides enter the run and leave its counts: a failed slide, or a completed slide
// rerun for its failed patches (agents recompute only those; every other result comes from the
// store). A slide this execution already counted is taken out of the counts before its new end is
// counted, so it is neither completed twice nor its old patch failures kept beside the new ones.

/** The pending slide for one listed slide of a rerun; a slide this execution never counted adds to the total. */
export function rerunPending(
  state: Pick<RunState, 'progress' | 'startedAtMs'>,
  rerun: NonNullable<RunState['rerun']>,
  failed: FailedSlide,
): PendingSlide {
  // An update's rerun counted the slide when this execution ran it (it started after this
  // execution did: both times are workflow time); a rerun start, or an older record, did not.
  const countedHere =
    rerun.counted && (failed.counted === undefined || Date.parse(failed.counted.startedAt) >= state.startedAtMs);
  if (!countedHere) state.progress.total += 1;
  const failedSlide = (failed.counted?.status ?? 'failed') === 'failed';
  const retryFailures = retryFailuresOf(rerun);
  return {
    job: failed.job,
    ...(countedHere && failedSlide ? { previousFailure: failed.reason } : {}),
    ...(countedHere && failed.counted ? { previous: failed.counted } : {}),
    ...(retryFailures !== undefined ? { retryFailures } : {}),
  };
}

/** The patch failures a rerun computes again: those of its reason, or all; none when it reruns slides only. */
export function retryFailuresOf(rerun: { reason?: string; slidesOnly?: boolean }): RetryFailures | undefined {
  if (rerun.slidesOnly) return undefined;
  return rerun.reason !== undefined ? [rerun.reason] : 'all';
}

/**
 * Takes a rerun slide's earlier record out of the counts: a completed slide's place in `completed`
 * and in every slide-stage bar it passed, and any slide's captions and patch failures. (A failed
 * slide's `failed` and reason leave through countSlideResult's `previousFailure`.)
 */
export function takeBackCounted(progress: RunProgress, previous: CountedSlide | undefined): void {
  if (!previous) return;
  if (previous.status === 'completed') {
    progress.completed -= 1;
    // A completed slide passed every stage before its record.
    for (const stage of slideStages.slice(0, -1)) {
      const bar = progress.stages[stage];
      if (bar) bar.done -= 1;
    }
  }
  const captions = progress.stages.captions;
  if (captions) {
    captions.total -= previous.selected;
    captions.done -= previous.captioned;
  }
  progress.captions -= previous.captioned;
  for (const [code, count] of Object.entries(previous.failures)) addCount(progress.patchFailuresByReason, code, -count);
}
