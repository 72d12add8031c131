import { addUsage, zeroUsage, type AgentUsage } from '../activities/contracts/usage.js';
import type { SlideResult } from './slide-outcome.js';
import { slideStages } from './slide-plan.js';

// What `progress` answers, and how slide results add up to it. Kept apart from the workflow so the
// CLI, the demo's progress view and tests share one shape.

export interface RunProgress {
  runId: string;
  phase: 'preparing' | 'running' | 'exporting' | 'done';
  total: number;
  completed: number;
  failed: number;
  running: number;
  paused: boolean;
  maxInFlight: number;
  /** Slides past each slide stage, and patches through the agents. */
  stages: Record<string, { done: number; total: number }>;
  captions: number;
  failuresByReason: Record<string, number>;
  /** Patch failures (a slide that completed may still have patches without a caption). */
  patchFailuresByReason: Record<string, number>;
  usage: AgentUsage;
  etaSeconds?: number;
  /** The first bad manifest rows, as people read them. */
  manifestErrors: string[];
  export?: { version: string; samples: number; shards: number; pointerKey: string; urlPattern?: string };
  continuedAsNew: number;
}

export function emptyProgress(runId: string, maxInFlight: number): RunProgress {
  return {
    runId,
    phase: 'preparing',
    total: 0,
    completed: 0,
    failed: 0,
    running: 0,
    paused: false,
    maxInFlight,
    // Slides past each slide stage (filled in when the total is known), patches captioned, the export.
    stages: { captions: { done: 0, total: 0 }, export: { done: 0, total: 1 } },
    captions: 0,
    failuresByReason: {},
    patchFailuresByReason: {},
    usage: zeroUsage,
    manifestErrors: [],
    continuedAsNew: 0,
  };
}

export function addCount(counts: Record<string, number>, key: string, by = 1): void {
  const next = (counts[key] ?? 0) + by;
  if (next === 0) delete counts[key];
  else counts[key] = next;
}

/** Adds a finished slide to the run's counts; a rerun slide's earlier failure leaves them first. */
export function countSlideResult(
  progress: RunProgress,
  result: SlideResult,
  previousFailure: string | undefined,
): void {
  // Only when this execution counted that failure (an update's rerun, not a rerun start).
  if (previousFailure !== undefined && (progress.failuresByReason[previousFailure] ?? 0) > 0) {
    progress.failed -= 1;
    addCount(progress.failuresByReason, previousFailure, -1);
  }
  if (result.status === 'completed') progress.completed += 1;
  else {
    progress.failed += 1;
    addCount(progress.failuresByReason, result.reason ?? 'Unknown');
  }
  const counts = result.counts;
  for (const stage of result.reached) {
    const bar = (progress.stages[stage] ??= { done: 0, total: progress.total });
    bar.done += 1;
  }
  if (counts.selected !== undefined) progress.stages.captions!.total += counts.selected;
  progress.stages.captions!.done += counts.captioned ?? 0;
  progress.captions += counts.captioned ?? 0;
  for (const [code, count] of Object.entries(result.failures)) addCount(progress.patchFailuresByReason, code, count);
  progress.usage = addUsage(progress.usage, result.usage);
}

/** What `progress` answers now: slide-stage bars out of the current total, live counts, an ETA. */
export function progressSnapshot(
  progress: RunProgress,
  live: { running: number; paused: boolean; maxInFlight: number; startedAtMs: number },
): RunProgress {
  return {
    ...progress,
    stages: Object.fromEntries(
      Object.entries(progress.stages).map(([stage, bar]) => [
        stage,
        (slideStages as readonly string[]).includes(stage) ? { done: bar.done, total: progress.total } : bar,
      ]),
    ),
    running: live.running,
    paused: live.paused,
    maxInFlight: live.maxInFlight,
    ...eta(progress, live.startedAtMs),
  };
}

function eta(progress: RunProgress, startedAtMs: number): { etaSeconds?: number } {
  const done = progress.completed + progress.failed;
  const remaining = progress.total - done;
  if (done === 0 || remaining <= 0) return {};
  const elapsed = (Date.now() - startedAtMs) / 1000;
  return { etaSeconds: Math.round((elapsed / done) * remaining) };
}
