import { addUsage, zeroUsage, type AgentUsage } from '../activities/contracts/usage.js';
import type { SlideResult } from './slide-outcome.js';
import { addPatchProgress, emptyPatchProgress, type PatchProgress, type SlideProgressReport } from './slide-patches.js';
import { slideStages } from './slide-plan.js';
import type { SlideProgressSignal } from './slide-progress.js';

// What `progress` answers, and how slide results add up to it. Kept apart from the workflow so the
// CLI, the demo's progress view and tests share one shape.

export interface RunProgress {
  runId: string;
  phase: 'preparing' | 'running' | 'awaiting-review' | 'exporting' | 'done';
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
  /**
   * Patches through the stages: finished slides' final counts plus running slides' latest reports
   * (a slide's report leaves when it ends and its final counts come in: each slide counts once).
   * Running slides' patch failures and usage are in `patchFailuresByReason` and `usage` too.
   */
  patches: PatchProgress;
  usage: AgentUsage;
  /** From patches per second once patches are through the agents, else from slides per second. */
  etaSeconds?: number;
  /** The first bad manifest rows, as people read them. */
  manifestErrors: string[];
  export?: { version: string; samples: number; shards: number; pointerKey: string; urlPattern?: string };
  /** With a review gate: what it asks, where the review stands (the last check's words), who approved. */
  review?: { samplesPerSlide: number; maxFlagRate: number; status: string; approvedBy?: string };
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
    patches: emptyPatchProgress(),
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
  // A progress carried over from before patches were counted has none yet.
  progress.patches = addPatchProgress(progress.patches, result.patches);
}

/**
 * The slides running now, by slide id, each with its latest report once it sent one. An entry is
 * made when the run starts the slide and removed when it ends (at most maxInFlight entries).
 */
export type LiveSlides = Record<string, { slideRunId?: string; report?: SlideProgressReport }>;

/**
 * Keeps a running slide's report in place of its last one. A report of a slide the run does not
 * count as running (it ended, or an earlier execution of it sends late) is dropped: false.
 */
export function takeSlideReport(live: LiveSlides, signal: SlideProgressSignal): boolean {
  const entry = live[signal.slideId];
  if (!entry || (entry.slideRunId !== undefined && entry.slideRunId !== signal.slideRunId)) return false;
  entry.report = {
    slideId: signal.slideId,
    patches: signal.patches,
    failures: signal.failures,
    usage: signal.usage,
  };
  return true;
}

/** What `progress` answers now: slide-stage bars out of the current total, live counts, an ETA. */
export function progressSnapshot(
  progress: RunProgress,
  live: { running: number; paused: boolean; maxInFlight: number; startedAtMs: number; slides?: LiveSlides },
): RunProgress {
  const reports = Object.values(live.slides ?? {}).flatMap((slide) => (slide.report ? [slide.report] : []));
  const patchFailuresByReason = { ...progress.patchFailuresByReason };
  for (const report of reports)
    for (const [code, count] of Object.entries(report.failures)) addCount(patchFailuresByReason, code, count);
  const patches = addPatchProgress(progress.patches, ...reports.map((report) => report.patches));
  return {
    ...progress,
    patches,
    patchFailuresByReason,
    usage: addUsage(progress.usage, ...reports.map((report) => report.usage)),
    stages: Object.fromEntries(
      Object.entries(progress.stages).map(([stage, bar]) => [
        stage,
        (slideStages as readonly string[]).includes(stage) ? { done: bar.done, total: progress.total } : bar,
      ]),
    ),
    running: live.running,
    paused: live.paused,
    maxInFlight: live.maxInFlight,
    ...eta(progress, patches, reports, (Date.now() - live.startedAtMs) / 1000),
  };
}

/**
 * Seconds left at the rate so far: of patches once some are through the summarize stage (slides
 * not yet past select are guessed at the average of those that are), else of slides.
 */
export function eta(
  progress: RunProgress,
  patches: PatchProgress,
  reports: readonly SlideProgressReport[],
  elapsedSeconds: number,
): { etaSeconds?: number } {
  const finished = progress.completed + progress.failed;
  const processed = patches.summarized.succeeded + patches.summarized.failed;
  const selecting = reports.filter((report) => report.patches.selected > 0);
  const known = (progress.stages.select?.done ?? 0) + selecting.length;
  if (processed > 0 && known > 0 && elapsedSeconds > 0) {
    const perSlide = patches.selected / known;
    const unknownSlides = Math.max(0, progress.total - finished - selecting.length);
    let remaining = perSlide * unknownSlides;
    for (const { patches: slide } of selecting)
      remaining += Math.max(0, slide.selected - slide.summarized.succeeded - slide.summarized.failed);
    return remaining > 0 ? { etaSeconds: Math.round(remaining / (processed / elapsedSeconds)) } : {};
  }
  const remaining = progress.total - finished;
  if (finished === 0 || remaining <= 0) return {};
  return { etaSeconds: Math.round((elapsedSeconds / finished) * remaining) };
}
