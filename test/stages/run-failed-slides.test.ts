import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKeys } from '../../activities/contracts/keys.js';
import type { SlideJob } from '../../activities/contracts/slide-job.js';
import type { SlideRecord } from '../../activities/contracts/slide-record.js';
import { zeroUsage } from '../../activities/contracts/usage.js';
import { createRunActivities } from '../../activities/stages/run.js';
import type { FailedSlidesInput, FailedSlidesResult } from '../../activities/stages/run.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { runActivity } from './activity-harness.js';

// What a rerun finds in a run's slide records: failed slides (of a reason), and, unless it reruns
// slides only, completed pipeline slides with failed patches (of a code), each with what its record
// counted so the run can take it back.

let dir: string;
let store: FsObjectStore;
const runId = 'rerun-list';
const started = '2024-05-01T10:00:00.000Z';

const pipeline = (slideId: string): SlideJob => ({
  kind: 'pipeline',
  row: { slideId, slide: `/slides/${slideId}.svs`, project: 'TCGA-LUAD' },
});

function record(slideId: string, fields: Partial<SlideRecord>): SlideRecord {
  return {
    runId,
    slideId,
    slide: `/slides/${slideId}.svs`,
    status: 'completed',
    counts: {},
    failures: {},
    usage: zeroUsage,
    samples: [],
    prefixes: {},
    startedAt: started,
    finishedAt: started,
    job: pipeline(slideId),
    ...fields,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-run-failed-'));
  store = new FsObjectStore({ root: join(dir, 'store') });
  const records = [
    record('a-clean', { counts: { selected: 4, captioned: 4 } }),
    record('b-patches', {
      counts: { selected: 5, captioned: 2 },
      failures: { ModelOutputInvalid: 2, ModelUnavailable: 1 },
    }),
    record('c-missing', { status: 'failed', reason: 'SlideNotFound' }),
    record('d-timeout', {
      status: 'failed',
      reason: 'Timeout',
      counts: { selected: 3, captioned: 1 },
      failures: { ModelUnavailable: 2 },
    }),
    record('e-materialize', {
      failures: { PositionOutsideSlide: 1 },
      job: { kind: 'materialize', slide: { slideId: 'e', slide: '/e.svs', wsiId: 'E', patches: 2 } },
    }),
    record('f-no-job', { status: 'failed', reason: 'SlideNotFound', job: undefined }),
  ];
  for (const slide of records)
    await store.put(runKeys.slideRecord(runId, slide.slideId), Buffer.from(JSON.stringify(slide)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const list = (input: Partial<FailedSlidesInput>): Promise<FailedSlidesResult> => {
  const activities = createRunActivities({
    store,
    resolveRunSettings: () => {
      throw new Error('listing failed slides resolves no settings');
    },
  });
  return runActivity(activities.listFailedSlides, { runId, limit: 100, ...input });
};
const listed = (result: FailedSlidesResult) =>
  result.slides.map((slide) => [slide.job.kind === 'pipeline' ? slide.job.row.slideId : 'e', slide.reason]);

describe('listFailedSlides', () => {
  it('lists failed slides only, as before, unless asked for patch failures', async () => {
    const result = await list({});
    expect(listed(result)).toEqual([
      ['c-missing', 'SlideNotFound'],
      ['d-timeout', 'Timeout'],
    ]);
    expect(result.unrunnable).toBe(1);
    expect(result.next).toBeUndefined();
  });

  it('adds completed pipeline slides with failed patches, with what their records counted', async () => {
    const result = await list({ patchFailures: true });
    expect(listed(result)).toEqual([
      ['b-patches', 'ModelOutputInvalid'],
      ['c-missing', 'SlideNotFound'],
      ['d-timeout', 'Timeout'],
    ]);
    expect(result.slides[0]?.counted).toEqual({
      status: 'completed',
      startedAt: started,
      selected: 5,
      captioned: 2,
      failures: { ModelOutputInvalid: 2, ModelUnavailable: 1 },
    });
    expect(result.slides[1]?.counted).toMatchObject({ status: 'failed', selected: 0, captioned: 0, failures: {} });
  });

  it("matches a reason against a failed slide's reason or a patch failure code", async () => {
    expect(listed(await list({ patchFailures: true, reason: 'ModelOutputInvalid' }))).toEqual([
      ['b-patches', 'ModelOutputInvalid'],
    ]);
    expect(listed(await list({ patchFailures: true, reason: 'ModelUnavailable' }))).toEqual([
      ['b-patches', 'ModelUnavailable'],
      ['d-timeout', 'Timeout'],
    ]);
    expect(listed(await list({ reason: 'ModelUnavailable' }))).toEqual([]);
    expect(listed(await list({ patchFailures: true, reason: 'PositionOutsideSlide' }))).toEqual([]);
  });

  it('pages with a cursor', async () => {
    const first = await list({ patchFailures: true, limit: 2 });
    expect(listed(first)).toEqual([
      ['b-patches', 'ModelOutputInvalid'],
      ['c-missing', 'SlideNotFound'],
    ]);
    const rest = await list({ patchFailures: true, limit: 2, startAfter: first.next! });
    expect(listed(rest)).toEqual([['d-timeout', 'Timeout']]);
  });
});
