import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewKeys } from '../../activities/contracts/keys.js';
import { sampleKey } from '../../activities/export/index.js';
import { readReviewRecords, readReviewState, recordReview, runReviewStats } from '../../activities/review/index.js';
import type { ReviewDeps, ReviewRequest } from '../../activities/review/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { dottedSlide, plainSlide, writeReviewTestRun } from './review-run.js';
import type { ReviewTestRun } from './review-run.js';

// Recording reviews against a run in a real fs store: what each action writes, and every refusal
// with its code and the words that say what to change.

const runId = 'run-review';
let dir: string;
let store: FsObjectStore;
let run: ReviewTestRun;
let clock = Date.parse('2026-12-07T10:00:00.000Z');
let nonce = 0;

function deps(): ReviewDeps {
  return {
    store,
    // One token per word plus start and end: the test's stand-in for CLIP's count.
    countTokens: (text) => text.split(/\s+/).filter(Boolean).length + 2,
    now: () => new Date((clock += 1000)),
    nonce: () => `n${(nonce += 1)}`,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-review-actions-'));
  store = new FsObjectStore({ root: dir });
  run = await writeReviewTestRun(store, runId);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('recordReview', () => {
  it('writes one record per action, with the slide id from the slide record and who and when', async () => {
    const key = sampleKey(dottedSlide, 0, 0);
    const flagged = await recordReview(deps(), { runId, key, action: 'flag', reason: ' blurry ', reviewer: 'ana@lab' });
    expect(flagged.recordKey.startsWith(reviewKeys.records(runId))).toBe(true);
    expect(flagged.record).toEqual({
      version: 1,
      runId,
      key,
      slideId: dottedSlide,
      action: 'flag',
      reason: 'blurry',
      reviewer: 'ana@lab',
      at: flagged.record.at,
    });
    const accepted = await recordReview(deps(), { runId, key, action: 'accept', reviewer: 'ben@lab' });
    expect(accepted.recordKey).not.toBe(flagged.recordKey);
    const stored = await readReviewRecords(store, runId);
    expect(stored.map((review) => review.record.action)).toEqual(['flag', 'accept']);
    expect((await readReviewState(store, runId)).get(key)?.status).toBe('accepted');
  });

  it('remembers the caption an edit replaced: the generated one, then the previous edit', async () => {
    const key = sampleKey(plainSlide, 672, 0);
    const first = await recordReview(deps(), { runId, key, action: 'edit', caption: 'Gland.', reviewer: 'ana@lab' });
    expect(first.record).toMatchObject({ caption: 'Gland.', previousCaption: run.captions.get(key) });
    const second = await recordReview(deps(), { runId, key, action: 'edit', caption: 'Glands.', reviewer: 'ana@lab' });
    expect(second.record.previousCaption).toBe('Gland.');
  });

  const refusals: Array<[string, () => Partial<ReviewRequest>, string, string]> = [
    ['a flag without a reason', () => ({ action: 'flag', reason: '  ' }), 'ReviewInvalid', 'a flag needs a reason'],
    ['an empty edit', () => ({ action: 'edit', caption: '' }), 'ReviewInvalid', 'an edit needs a non-empty caption'],
    [
      'an edit over 77 tokens',
      () => ({ action: 'edit', caption: 'word '.repeat(80) }),
      'ReviewInvalid',
      'the caption has 82 CLIP tokens (start and end included); the limit is 77',
    ],
    ['a key the run does not have', () => ({ key: 's2_1_1' }), 'SampleNotFound', `run ${runId} has no sample s2_1_1`],
    ['a failed patch', () => ({ key: run.failedKey }), 'ReviewInvalid', 'has no caption to review (ModelOutputInvalid'],
    ['a run that is not there', () => ({ runId: 'nope' }), 'RunNotFound', 'run nope has no slide records'],
    ['an empty reviewer', () => ({ reviewer: ' ' }), 'ReviewInvalid', 'the reviewer is empty'],
  ];
  it.each(refusals)('refuses %s', async (_, change, code, message) => {
    const before = (await readReviewRecords(store, runId)).length;
    const request: ReviewRequest = {
      runId,
      key: sampleKey(plainSlide, 0, 0),
      action: 'accept',
      reviewer: 'ana@lab',
      ...change(),
    };
    const refused = await recordReview(deps(), request).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code });
    expect((refused as Error).message).toContain(message);
    expect(await readReviewRecords(store, runId)).toHaveLength(before);
  });

  it("counts per slide and for the run, with each slide's exportable samples", async () => {
    const stats = await runReviewStats(store, runId);
    expect(stats.slides).toEqual([
      { slideId: dottedSlide, samples: 4, reviewed: 1, flagged: 0, edited: 0, accepted: 1 },
      { slideId: 'bad', samples: 0, reviewed: 0, flagged: 0, edited: 0, accepted: 0 },
      { slideId: plainSlide, samples: 4, reviewed: 1, flagged: 0, edited: 1, accepted: 0 },
    ]);
    expect(stats.run).toEqual({
      runId,
      slides: 3,
      samples: 8,
      records: 4,
      reviewed: 2,
      flagged: 0,
      edited: 1,
      accepted: 1,
    });
  });

  it('refuses to read a record that is not one, naming it', async () => {
    const key = reviewKeys.record(runId, '20261207T110000000Z', 'broken');
    await store.put(key, Buffer.from(JSON.stringify({ version: 1, runId, action: 'flag' })));
    const refused = await readReviewRecords(store, runId).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'InvalidInput' });
    expect((refused as Error).message).toContain(`review record ${key} is not a review record`);
    await store.delete(key);
  });
});
