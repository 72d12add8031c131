import { describe, expect, it } from 'vitest';
import type { FailedSlide } from '../../activities/stages/run.js';
import type { SlideJob } from '../../activities/contracts/slide-job.js';
import { zeroUsage } from '../../activities/contracts/usage.js';
import { countSlideResult, emptyProgress, type RunProgress } from '../../workflows/run-progress.js';
import { rerunPending, retryFailuresOf, takeBackCounted } from '../../workflows/run-rerun.js';
import type { SlideResult } from '../../workflows/slide-outcome.js';
import { slideStages } from '../../workflows/slide-plan.js';

// A rerun's slides through the run's counts: a slide this execution counted leaves them before its
// new end is counted (never completed twice, its old patch failures gone), a slide it never
// counted adds to the total.

const startedAtMs = Date.parse('2024-05-01T10:00:00.000Z');
const job: SlideJob = { kind: 'pipeline', row: { slideId: 's1', slide: '/s1.svs', project: 'TCGA-LUAD' } };
const passedAll = slideStages.slice(0, -1);

function progressOf(total: number): RunProgress {
  const progress = emptyProgress('r', 4);
  progress.total = total;
  for (const stage of passedAll) progress.stages[stage] = { done: 0, total };
  return progress;
}

function completed(selected: number, captioned: number, failures: Record<string, number>): SlideResult {
  return {
    slideId: 's1',
    status: 'completed',
    counts: { selected, captioned, failedPatches: selected - captioned },
    failures,
    usage: zeroUsage,
    durationMs: 1,
    reached: [...passedAll],
  };
}

const listedAt = (at: number, counted: Omit<NonNullable<FailedSlide['counted']>, 'startedAt'>): FailedSlide => ({
  job,
  reason: 'ModelOutputInvalid',
  counted: { ...counted, startedAt: new Date(at).toISOString() },
});

describe('a completed slide rerun for its failed patches', () => {
  it('counts once as completed, with its new captions and no old patch failures', () => {
    const progress = progressOf(1);
    countSlideResult(progress, completed(5, 3, { ModelOutputInvalid: 2 }), undefined);
    const listed = listedAt(startedAtMs + 60_000, {
      status: 'completed',
      selected: 5,
      captioned: 3,
      failures: { ModelOutputInvalid: 2 },
    });
    const pending = rerunPending({ progress, startedAtMs }, { counted: true }, listed);
    expect(pending).toEqual({ job, previous: listed.counted, retryFailures: 'all' });

    takeBackCounted(progress, pending.previous);
    countSlideResult(progress, completed(5, 5, {}), pending.previousFailure);
    expect(progress).toMatchObject({ total: 1, completed: 1, failed: 0, captions: 5, patchFailuresByReason: {} });
    expect(progress.stages.captions).toEqual({ done: 5, total: 5 });
    for (const stage of passedAll) expect(progress.stages[stage]).toEqual({ done: 1, total: 1 });
  });

  it('keeps the failures it still has, by their new counts', () => {
    const progress = progressOf(1);
    countSlideResult(progress, completed(5, 2, { ModelOutputInvalid: 2, ModelUnavailable: 1 }), undefined);
    const listed = listedAt(startedAtMs, {
      status: 'completed',
      selected: 5,
      captioned: 2,
      failures: { ModelOutputInvalid: 2, ModelUnavailable: 1 },
    });
    const pending = rerunPending({ progress, startedAtMs }, { reason: 'ModelUnavailable', counted: true }, listed);
    expect(pending.retryFailures).toEqual(['ModelUnavailable']);
    takeBackCounted(progress, pending.previous);
    countSlideResult(progress, completed(5, 3, { ModelOutputInvalid: 2 }), pending.previousFailure);
    expect(progress).toMatchObject({ completed: 1, captions: 3, patchFailuresByReason: { ModelOutputInvalid: 2 } });
  });

  it('adds to the total of a rerun start, which never counted it', () => {
    const progress = progressOf(0);
    const listed = listedAt(startedAtMs - 60_000, { status: 'completed', selected: 5, captioned: 3, failures: {} });
    const pending = rerunPending({ progress, startedAtMs }, { counted: false }, listed);
    expect(pending).toEqual({ job, retryFailures: 'all' });
    expect(progress.total).toBe(1);
  });

  it("adds to an update's total a slide from before this execution", () => {
    const progress = progressOf(2);
    const listed = listedAt(startedAtMs - 1, { status: 'completed', selected: 5, captioned: 3, failures: {} });
    expect(rerunPending({ progress, startedAtMs }, { counted: true }, listed).previous).toBeUndefined();
    expect(progress.total).toBe(3);
  });
});

describe('a failed slide rerun', () => {
  it('leaves failed, its reason and its captions before its new end is counted', () => {
    const progress = progressOf(1);
    countSlideResult(
      progress,
      {
        ...completed(4, 1, { ModelUnavailable: 3 }),
        status: 'failed',
        reason: 'Timeout',
        reached: ['tile', 'findings', 'select'],
      },
      undefined,
    );
    const listed: FailedSlide = {
      job,
      reason: 'Timeout',
      counted: {
        status: 'failed',
        startedAt: new Date(startedAtMs).toISOString(),
        selected: 4,
        captioned: 1,
        failures: { ModelUnavailable: 3 },
      },
    };
    const pending = rerunPending({ progress, startedAtMs }, { slidesOnly: true, counted: true }, listed);
    expect(pending).toEqual({ job, previousFailure: 'Timeout', previous: listed.counted });
    takeBackCounted(progress, pending.previous);
    countSlideResult(progress, completed(4, 4, {}), pending.previousFailure);
    expect(progress).toMatchObject({ completed: 1, failed: 0, failuresByReason: {}, captions: 4 });
    expect(progress.patchFailuresByReason).toEqual({});
    expect(progress.stages.captions).toEqual({ done: 4, total: 4 });
  });

  it('from a listing recorded before counts were listed, takes back only its failure, as before', () => {
    const progress = progressOf(1);
    const pending = rerunPending({ progress, startedAtMs }, { counted: true }, { job, reason: 'SlideNotFound' });
    expect(pending).toEqual({ job, previousFailure: 'SlideNotFound', retryFailures: 'all' });
    expect(progress.total).toBe(1);
  });
});

describe('retryFailuresOf', () => {
  it('names the reason, all failures, or none when rerunning slides only', () => {
    expect(retryFailuresOf({ reason: 'ModelOutputInvalid' })).toEqual(['ModelOutputInvalid']);
    expect(retryFailuresOf({})).toBe('all');
    expect(retryFailuresOf({ reason: 'SlideNotFound', slidesOnly: true })).toBeUndefined();
  });
});
