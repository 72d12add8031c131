import { describe, expect, it } from 'vitest';
import { foldReviews, reviewCountsBySlide } from '../../activities/review/index.js';
import type { ReviewAction, StoredReview } from '../../activities/review/index.js';

// The fold of a sample's review records: the last accept, flag or edit decides, in time order and
// then record-key order, whatever order the records are listed in.

let serial = 0;
function stored(key: string, action: ReviewAction, at: string, extra: Partial<StoredReview['record']> = {}) {
  serial += 1;
  const review: StoredReview = {
    recordKey: `runs/r/reviews/${at.replace(/[-:.]/g, '')}-${String(serial).padStart(4, '0')}.json`,
    record: {
      version: 1,
      runId: 'r',
      key,
      slideId: key.split('_')[0]!,
      action,
      ...(action === 'flag' ? { reason: 'blurry' } : {}),
      ...(action === 'edit' ? { caption: `edited at ${at}`, previousCaption: 'generated' } : {}),
      reviewer: 'ana@lab',
      at,
      ...extra,
    },
  };
  return review;
}

const t = (second: number) => `2026-12-07T10:00:${String(second).padStart(2, '0')}.000Z`;

describe('foldReviews', () => {
  it('lets an accept after a flag clear it', () => {
    const state = foldReviews([stored('a_0_0', 'flag', t(1)), stored('a_0_0', 'accept', t(2))]);
    expect(state.get('a_0_0')).toMatchObject({ status: 'accepted', records: 2, last: { action: 'accept' } });
    expect(state.get('a_0_0')?.flag).toBeUndefined();
  });

  it('keeps an edit through a later accept, until a later edit replaces it', () => {
    const state = foldReviews([
      stored('a_0_0', 'edit', t(1)),
      stored('a_0_0', 'accept', t(2)),
      stored('b_0_0', 'edit', t(1)),
      stored('b_0_0', 'edit', t(3)),
    ]);
    expect(state.get('a_0_0')).toMatchObject({ status: 'edited', edit: { caption: `edited at ${t(1)}` } });
    expect(state.get('b_0_0')).toMatchObject({ status: 'edited', edit: { caption: `edited at ${t(3)}` } });
  });

  it('leaves out a sample flagged after an edit but remembers the edit for a later accept', () => {
    const flagged = foldReviews([stored('a_0_0', 'edit', t(1)), stored('a_0_0', 'flag', t(2))]);
    expect(flagged.get('a_0_0')).toMatchObject({
      status: 'flagged',
      flag: { reason: 'blurry', by: 'ana@lab', at: t(2) },
      edit: { caption: `edited at ${t(1)}` },
    });
    const back = foldReviews([
      stored('a_0_0', 'edit', t(1)),
      stored('a_0_0', 'flag', t(2)),
      stored('a_0_0', 'accept', t(3)),
    ]);
    expect(back.get('a_0_0')).toMatchObject({ status: 'edited', edit: { caption: `edited at ${t(1)}` } });
  });

  it('orders by time, then by record key, not by listing order', () => {
    const flag = stored('a_0_0', 'flag', t(5));
    const accept = stored('a_0_0', 'accept', t(4));
    expect(foldReviews([flag, accept]).get('a_0_0')?.status).toBe('flagged');
    // Same millisecond: the record key breaks the tie (the later serial wins).
    const first = stored('b_0_0', 'accept', t(6));
    const second = stored('b_0_0', 'flag', t(6));
    expect(foldReviews([second, first]).get('b_0_0')?.status).toBe('flagged');
  });

  it('counts every reviewed sample in exactly one state, per slide and for the run', () => {
    const state = foldReviews([
      stored('a_0_0', 'flag', t(1)),
      stored('a_1_0', 'edit', t(1)),
      stored('a_2_0', 'accept', t(1)),
      stored('a_2_0', 'accept', t(2)),
      stored('b_0_0', 'edit', t(1)),
      stored('b_0_0', 'flag', t(2)),
    ]);
    const { run, slides } = reviewCountsBySlide(state);
    expect(run).toEqual({ reviewed: 4, flagged: 2, edited: 1, accepted: 1 });
    expect([...slides]).toEqual([
      ['a', { reviewed: 3, flagged: 1, edited: 1, accepted: 1 }],
      ['b', { reviewed: 1, flagged: 1, edited: 0, accepted: 0 }],
    ]);
  });
});
