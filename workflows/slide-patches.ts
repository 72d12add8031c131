import { addUsage, zeroUsage, type AgentUsage } from '../activities/contracts/usage.js';
import type { AgentBatchResult } from '../activities/stages/agents.js';

// A slide's patches as they move through its stages: how many were tiled and selected, how many
// each agent stage has answered or failed, which batches are in flight. The slide plan keeps one
// tally per slide; the slide workflow sends its reports to the run while the slide runs, and the
// plan's outcome carries the final one. Pure arithmetic (the bench runs it too), no Temporal here.

/** Patches one agent stage has finished: answered (`succeeded`) or recorded as failed. */
export interface StageCount {
  succeeded: number;
  failed: number;
}

export interface PatchProgress {
  /** Candidate tiles of the tissue grid. */
  candidates: number;
  /** Patches selected for the agents. */
  selected: number;
  described: StageCount;
  revised: StageCount;
  summarized: StageCount;
  /**
   * Patches without an answer at the latest stage their batch finished (a patch that failed to be
   * described fails every later stage too, so it counts once).
   */
  failed: number;
  /** Agent batches between the start of describe and the end of summarize. */
  batchesInFlight: number;
}

/** What a running slide tells its run: its patches so far, their failures by code, usage so far. */
export interface SlideProgressReport {
  slideId: string;
  patches: PatchProgress;
  failures: Record<string, number>;
  usage: AgentUsage;
}

const stageCounts = { describe: 'described', revise: 'revised', summarize: 'summarized' } as const;

export function emptyPatchProgress(): PatchProgress {
  return {
    candidates: 0,
    selected: 0,
    described: { succeeded: 0, failed: 0 },
    revised: { succeeded: 0, failed: 0 },
    summarized: { succeeded: 0, failed: 0 },
    failed: 0,
    batchesInFlight: 0,
  };
}

/** The sum of patch counts (absent ones count as zero), as a new object. */
export function addPatchProgress(...all: readonly (PatchProgress | undefined)[]): PatchProgress {
  const sum = emptyPatchProgress();
  for (const one of all) {
    if (!one) continue;
    sum.candidates += one.candidates;
    sum.selected += one.selected;
    for (const key of Object.values(stageCounts)) {
      sum[key].succeeded += one[key].succeeded;
      sum[key].failed += one[key].failed;
    }
    sum.failed += one.failed;
    sum.batchesInFlight += one.batchesInFlight;
  }
  return sum;
}

/** One slide's tally, fed by the plan as its steps end. */
export function patchTally(slideId: string) {
  const patches = emptyPatchProgress();
  let usage = zeroUsage;
  // Per batch, the failures of the latest stage it finished (later stages copy earlier failures).
  const batchFailures: Record<string, number>[] = [];
  const failures = (): Record<string, number> => {
    const byCode: Record<string, number> = {};
    for (const batch of batchFailures)
      for (const [code, count] of Object.entries(batch ?? {})) byCode[code] = (byCode[code] ?? 0) + count;
    return byCode;
  };
  return {
    tiled(candidates: number) {
      patches.candidates = candidates;
    },
    selected(count: number) {
      patches.selected = count;
    },
    spent(more: AgentUsage) {
      usage = addUsage(usage, more);
    },
    batchStarted() {
      patches.batchesInFlight += 1;
    },
    stageDone(batch: number, result: AgentBatchResult) {
      const count = patches[stageCounts[result.stage]];
      count.succeeded += result.succeeded;
      count.failed += result.failed;
      batchFailures[batch] = result.failures;
      patches.failed = Object.values(failures()).reduce((sum, n) => sum + n, 0);
      usage = addUsage(usage, result.usage);
      if (result.stage === 'summarize') patches.batchesInFlight -= 1;
    },
    /** The tally now, as a report of its own (later steps do not change it). */
    report(): SlideProgressReport {
      return { slideId, patches: addPatchProgress(patches), failures: failures(), usage };
    },
    /** The slide's final counts: nothing is in flight once the plan ends, whatever ended it. */
    final(): PatchProgress {
      return { ...addPatchProgress(patches), batchesInFlight: 0 };
    },
  };
}
