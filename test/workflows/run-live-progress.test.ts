import { describe, expect, it } from 'vitest';
import type { RunSettings } from '../../activities/contracts/run-settings.js';
import type { ManifestRow, RecordSlideInput } from '../../activities/contracts/slide-job.js';
import { zeroUsage, type AgentUsage } from '../../activities/contracts/usage.js';
import type { AgentBatchInput, AgentBatchResult } from '../../activities/stages/agents.js';
import {
  countSlideResult,
  emptyProgress,
  eta,
  progressSnapshot,
  takeSlideReport,
  type LiveSlides,
  type RunProgress,
} from '../../workflows/run-progress.js';
import type { SlideResult } from '../../workflows/slide-outcome.js';
import { emptyPatchProgress, patchTally, type SlideProgressReport } from '../../workflows/slide-patches.js';
import { runSlidePlan, slideStages, type AgentStage, type SlideSteps } from '../../workflows/slide-plan.js';

// Live patch progress without Temporal: the slide plan's tally and reports, and how the run adds
// running slides' reports to finished slides' counts, each slide once.

const usage = (promptTokens: number): AgentUsage => ({ ...zeroUsage, calls: 1, attempts: 1, promptTokens });
const passedAll = slideStages.slice(0, -1);

function batchResult(stage: AgentStage, patches: number, failures: Record<string, number> = {}): AgentBatchResult {
  const failed = Object.values(failures).reduce((sum, n) => sum + n, 0);
  return { stage, patches, succeeded: patches - failed, failed, reused: 0, usage: usage(10), failures };
}

function progressOf(total: number): RunProgress {
  const progress = emptyProgress('r', 4);
  progress.total = total;
  for (const stage of passedAll) progress.stages[stage] = { done: 0, total };
  return progress;
}

/** A slide's report as the plan makes it: `stages` agent stages of its batches done. */
function reportOf(slideId: string, selected: number, done: AgentBatchResult[], inFlight: number): SlideProgressReport {
  const tally = patchTally(slideId);
  tally.tiled(selected * 2);
  tally.selected(selected);
  for (let i = 0; i < inFlight; i++) tally.batchStarted();
  done.forEach((result, batch) => tally.stageDone(batch, result));
  return tally.report();
}

const live = (progress: RunProgress, slides: LiveSlides, startedAtMs = Date.now() - 10_000) =>
  progressSnapshot(progress, {
    running: Object.keys(slides).length,
    paused: false,
    maxInFlight: 4,
    startedAtMs,
    slides,
  });

describe('the slide plan tallies its patches', () => {
  const settings = {
    agentBatchSize: 2,
    agentBatchesInParallel: 1,
    tiling: {},
    selection: {},
  } as unknown as RunSettings;
  const row: ManifestRow = { slideId: 's1', slide: '/s1.svs', project: 'TCGA-LUAD' };
  const patches = Array.from({ length: 5 }, (_, i) => ({ id: `${i}_0`, key: `p/${i}.jpg` }));

  function fakeSteps(inputs: AgentBatchInput[]): Omit<SlideSteps, 'progressed'> {
    return {
      tile: () => Promise.resolve({ candidates: 12, prefix: 'tile/x', keys: { candidates: 'c' } } as never),
      findings: () => Promise.resolve({ key: 'f', usage: usage(1) } as never),
      select: () => Promise.resolve({ prefix: 'select/x', keys: { result: 'r' }, patches } as never),
      agent: (stage, input) => {
        inputs.push(input);
        // The second batch's first patch fails to be described; later stages copy that failure.
        const failures: Record<string, number> = input.batch === '2/3' ? { ModelOutputInvalid: 1 } : {};
        return Promise.resolve(batchResult(stage, input.patches.length, failures));
      },
      record: (input: RecordSlideInput) =>
        Promise.resolve({ slideId: 's1', status: input.status, counts: {}, failures: {} }),
      failure: (error) => ({ reason: 'ActivityFailed', message: String(error) }),
    };
  }

  it('reports after tile, select, each batch start and each agent stage, and ends with the final counts', async () => {
    const inputs: AgentBatchInput[] = [];
    const reports: SlideProgressReport[] = [];
    const steps: SlideSteps = { ...fakeSteps(inputs), progressed: (report) => reports.push(report) };
    const outcome = await runSlidePlan(steps, { runId: 'r', row, settings, startedAt: '2024-05-01T10:00:00.000Z' });

    expect(inputs.map((input) => input.batch)).toEqual(['1/3', '1/3', '1/3', '2/3', '2/3', '2/3', '3/3', '3/3', '3/3']);
    // tile, select, then per batch: start and three stages.
    expect(reports).toHaveLength(2 + 3 * 4);
    expect(reports[0]!.patches).toMatchObject({ candidates: 12, selected: 0, batchesInFlight: 0 });
    expect(reports[1]!.patches).toMatchObject({ candidates: 12, selected: 5, batchesInFlight: 0 });
    expect(reports[2]!.patches).toMatchObject({ batchesInFlight: 1, described: { succeeded: 0, failed: 0 } });
    expect(reports[3]!.patches).toMatchObject({ batchesInFlight: 1, described: { succeeded: 2, failed: 0 } });
    expect(reports[5]!.patches).toMatchObject({ batchesInFlight: 0, summarized: { succeeded: 2, failed: 0 } });
    // Batch 2's describe failure counts once, however many stages copy it.
    expect(reports[7]!).toMatchObject({ patches: { failed: 1 }, failures: { ModelOutputInvalid: 1 } });
    expect(reports[9]!).toMatchObject({ patches: { failed: 1 }, failures: { ModelOutputInvalid: 1 } });
    // Reports are snapshots: later steps did not change the first one.
    expect(reports[0]!.patches.described.succeeded).toBe(0);

    const final = { succeeded: 4, failed: 1 };
    expect(outcome.patches).toEqual({
      candidates: 12,
      selected: 5,
      described: final,
      revised: final,
      summarized: final,
      failed: 1,
      batchesInFlight: 0,
    });
    expect(reports.at(-1)!.patches).toEqual(outcome.patches);
    expect(reports.at(-1)!.usage).toEqual(outcome.usage);
  });

  it('runs the same without the hook (as bench/run.ts calls it)', async () => {
    const outcome = await runSlidePlan(fakeSteps([]), {
      runId: 'r',
      row,
      settings,
      startedAt: '2024-05-01T10:00:00.000Z',
    });
    expect(outcome.summary.status).toBe('completed');
    expect(outcome.patches).toMatchObject({ selected: 5, summarized: { succeeded: 4, failed: 1 } });
  });
});

describe('the run counts running slides live and finished slides once', () => {
  it('adds running slides’ reports, then replaces a slide’s report by its final numbers when it ends', () => {
    const progress = progressOf(2);
    const slides: LiveSlides = { a: { slideRunId: 'run-a' }, b: { slideRunId: 'run-b' } };
    const a = reportOf('a', 4, [batchResult('describe', 2), batchResult('describe', 2, { ModelOutputInvalid: 1 })], 2);
    const b = reportOf('b', 6, [batchResult('summarize', 2)], 1);
    expect(takeSlideReport(slides, { ...a, slideRunId: 'run-a' })).toBe(true);
    expect(takeSlideReport(slides, { ...b, slideRunId: 'run-b' })).toBe(true);

    const running = live(progress, slides);
    expect(running.completed).toBe(0);
    expect(running.patches).toMatchObject({
      candidates: 20,
      selected: 10,
      described: { succeeded: 3, failed: 1 },
      summarized: { succeeded: 2, failed: 0 },
      failed: 1,
      batchesInFlight: 2,
    });
    expect(running.patchFailuresByReason).toEqual({ ModelOutputInvalid: 1 });
    expect(running.usage.promptTokens).toBe(30);
    // The snapshot adds; the run's own counts hold finished slides only.
    expect(progress.patches).toEqual(emptyPatchProgress());

    // Slide a ends: its live entry leaves, its final numbers come in (as run.ts does).
    const finalA = { ...a.patches, described: { succeeded: 3, failed: 1 }, summarized: { succeeded: 3, failed: 1 } };
    const resultA: SlideResult = {
      slideId: 'a',
      status: 'completed',
      counts: { candidates: 8, selected: 4, captioned: 3, failedPatches: 1 },
      failures: { ModelOutputInvalid: 1 },
      usage: usage(50),
      durationMs: 1,
      reached: [...passedAll],
      patches: { ...finalA, batchesInFlight: 0 },
    };
    delete slides.a;
    countSlideResult(progress, resultA, undefined);
    const after = live(progress, slides);
    expect(after.completed).toBe(1);
    expect(after.patches).toMatchObject({
      candidates: 20,
      selected: 10,
      described: { succeeded: 3, failed: 1 },
      summarized: { succeeded: 5, failed: 1 },
      failed: 1,
      batchesInFlight: 0,
    });
    expect(after.patchFailuresByReason).toEqual({ ModelOutputInvalid: 1 });
    expect(after.usage.promptTokens).toBe(50 + 10);

    // A late report of the ended slide changes nothing.
    expect(takeSlideReport(slides, { ...a, slideRunId: 'run-a' })).toBe(false);
    expect(live(progress, slides).patches).toEqual(after.patches);
  });

  it('drops a report of an earlier execution of a slide, and takes any before the start is known', () => {
    const slides: LiveSlides = { a: { slideRunId: 'second' }, b: {} };
    const report = reportOf('a', 4, [batchResult('describe', 2)], 1);
    expect(takeSlideReport(slides, { ...report, slideRunId: 'first' })).toBe(false);
    expect(slides.a!.report).toBeUndefined();
    expect(takeSlideReport(slides, { ...report, slideId: 'b', slideRunId: 'any' })).toBe(true);
    expect(slides.b!.report?.patches.described.succeeded).toBe(2);
  });

  it('reads a progress carried over from before patches were counted', () => {
    const progress = { ...progressOf(1), patches: undefined } as unknown as RunProgress;
    countSlideResult(progress, { ...completedWithout(), patches: { ...emptyPatchProgress(), selected: 3 } }, undefined);
    expect(progress.patches.selected).toBe(3);
  });
});

function completedWithout(): SlideResult {
  return {
    slideId: 'a',
    status: 'completed',
    counts: {},
    failures: {},
    usage: zeroUsage,
    durationMs: 1,
    reached: [...passedAll],
  };
}

describe('the ETA', () => {
  it('comes from patches per second once patches are through the agents', () => {
    const progress = progressOf(4);
    // One slide finished past select with 10 patches; one running with 10 selected, 5 summarized.
    progress.completed = 1;
    progress.stages.select!.done = 1;
    progress.patches = { ...emptyPatchProgress(), selected: 10, summarized: { succeeded: 10, failed: 0 } };
    const running = reportOf('b', 10, [batchResult('summarize', 5)], 1);
    const patches = {
      ...progress.patches,
      selected: 20,
      summarized: { succeeded: 15, failed: 0 },
    };
    // 15 patches in 30 s: 0.5/s. Left: 5 of the running slide and 2 slides not past select at 10 each.
    expect(eta(progress, patches, [running], 30)).toEqual({ etaSeconds: 50 });
  });

  it('comes from slides per second while no patch is through', () => {
    const progress = progressOf(4);
    progress.failed = 1;
    expect(eta(progress, progress.patches, [], 30)).toEqual({ etaSeconds: 90 });
    expect(eta(progressOf(4), emptyPatchProgress(), [], 30)).toEqual({});
  });
});
