import type { DatasetReviewCounts } from '../export/dataset-card.js';
import { compareKeys } from '../export/sample-key.js';
import type { ObjectStore } from '../store/object-store.js';
import { readReviewRecords } from './review-record.js';
import type { ReviewAction, StoredReview } from './review-record.js';

// What a sample's review records amount to: they are folded in time order (then by record key,
// so two records of the same millisecond fold the same way everywhere) and the last accept, flag
// or edit decides. An accept after a flag clears it; an edit is an accept with a new caption, and
// its caption stays until a later edit; a flag after an edit leaves the sample out but remembers
// the edit, so a later accept brings the sample back with the edited caption.
//
// Every reviewed sample is in exactly one state: flagged (the export leaves it out), edited (its
// caption replaced) or accepted (exported as generated), so reviewed = flagged + edited + accepted.

export type ReviewStatus = 'accepted' | 'flagged' | 'edited';

export interface ReviewMark {
  by: string;
  at: string;
}

export interface SampleReview {
  key: string;
  slideId: string;
  status: ReviewStatus;
  /** The latest flag's reason, while the sample is flagged. */
  flag?: ReviewMark & { reason: string };
  /** The latest edit (kept through a later flag). */
  edit?: ReviewMark & { caption: string; previousCaption?: string };
  last: ReviewMark & { action: ReviewAction };
  /** Review records of the sample. */
  records: number;
}

/** One entry per reviewed sample, by sample key. */
export type ReviewState = Map<string, SampleReview>;

export function foldReviews(records: readonly StoredReview[]): ReviewState {
  const ordered = [...records].sort(
    (a, b) => compareKeys(a.record.at, b.record.at) || compareKeys(a.recordKey, b.recordKey),
  );
  const state: ReviewState = new Map();
  for (const { record } of ordered) {
    const mark = { by: record.reviewer, at: record.at };
    const previous = state.get(record.key);
    const review: SampleReview = {
      key: record.key,
      slideId: record.slideId,
      status: 'accepted',
      ...(previous?.edit ? { edit: previous.edit } : {}),
      last: { ...mark, action: record.action },
      records: (previous?.records ?? 0) + 1,
    };
    if (record.action === 'flag') {
      review.status = 'flagged';
      review.flag = { ...mark, reason: record.reason ?? '' };
    } else if (record.action === 'edit') {
      review.edit = {
        ...mark,
        caption: record.caption ?? '',
        ...(record.previousCaption !== undefined ? { previousCaption: record.previousCaption } : {}),
      };
    }
    if (review.status !== 'flagged' && review.edit) review.status = 'edited';
    state.set(record.key, review);
  }
  return state;
}

/** The run's review state from its records (small: one record per action, one entry per reviewed sample). */
export async function readReviewState(store: ObjectStore, runId: string): Promise<ReviewState> {
  return foldReviews(await readReviewRecords(store, runId));
}

export function emptyReviewCounts(): DatasetReviewCounts {
  return { reviewed: 0, flagged: 0, edited: 0, accepted: 0 };
}

export function countReview(counts: DatasetReviewCounts, status: ReviewStatus): void {
  counts.reviewed += 1;
  counts[status] += 1;
}

/** Counts over the whole state and per slide (slides in key order). */
export function reviewCountsBySlide(state: ReviewState): {
  run: DatasetReviewCounts;
  slides: Map<string, DatasetReviewCounts>;
} {
  const run = emptyReviewCounts();
  const slides = new Map<string, DatasetReviewCounts>();
  for (const review of state.values()) {
    countReview(run, review.status);
    let slide = slides.get(review.slideId);
    if (!slide) slides.set(review.slideId, (slide = emptyReviewCounts()));
    countReview(slide, review.status);
  }
  return { run, slides: new Map([...slides].sort(([a], [b]) => compareKeys(a, b))) };
}
