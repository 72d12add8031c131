import { ActivityFailure, ApplicationFailure, TimeoutFailure, upsertSearchAttributes } from '@temporalio/workflow';
import type { RecordSlideInput, SlideJob, SlideSummary } from '../activities/contracts/slide-job.js';
import { zeroUsage, type AgentUsage } from '../activities/contracts/usage.js';
import { PathgenFailureReason, PathgenStatus } from './search-attributes.js';
import type { PatchProgress } from './slide-patches.js';
import type { SlideStage } from './slide-plan.js';

// How a slide ends, said once for the slide, materialize-slide and run workflows: what an error is
// recorded as, the search attributes of a failed slide, and a failed slide's record.

export interface SlideResult extends SlideSummary {
  usage: AgentUsage;
  durationMs: number;
  /** Stages the slide got through (for the run's per-stage progress). */
  reached: SlideStage[];
  /** Patches per stage (pipeline slides; absent from materialize slides and older histories). */
  patches?: PatchProgress;
}

/**
 * What a failure is recorded as: the failing activity's error code (its ApplicationFailure type),
 * `Timeout` when Temporal timed the activity out, else `fallback`. Cancellations are the caller's
 * to tell apart first: a cancelled slide is not a failed one.
 */
export function failureOf(error: unknown, fallback: string): { reason: string; message: string } {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && cause.type) return { reason: cause.type, message: cause.message };
  if (cause instanceof TimeoutFailure) return { reason: 'Timeout', message: cause.message };
  if (cause instanceof Error) return { reason: fallback, message: cause.message };
  return { reason: fallback, message: String(cause) };
}

/** Marks this slide workflow failed, with its reason, for `PathgenStatus = 'failed'` searches. */
export function markSlideFailed(reason: string): void {
  upsertSearchAttributes([
    { key: PathgenStatus, value: 'failed' },
    { key: PathgenFailureReason, value: reason },
  ]);
}

/**
 * Records a slide that failed before any stage of its own left something (no usage, no prefixes).
 * Its duration runs from `startedAtMs` to the record, unless the caller knows none (`durationMs`).
 */
export async function recordFailedSlide(
  recordSlide: (input: RecordSlideInput) => Promise<SlideSummary>,
  failed: { runId: string; job: SlideJob; reason: string; message: string; startedAtMs: number; durationMs?: number },
): Promise<SlideResult> {
  const summary = await recordSlide({
    runId: failed.runId,
    job: failed.job,
    status: 'failed',
    reason: failed.reason,
    message: failed.message,
    usage: zeroUsage,
    prefixes: {},
    startedAt: new Date(failed.startedAtMs).toISOString(),
  });
  const durationMs = failed.durationMs ?? Date.now() - failed.startedAtMs;
  return { ...summary, usage: zeroUsage, durationMs, reached: [] };
}
