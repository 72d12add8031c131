import type { DatasetReviewCounts } from '../export/dataset-card.js';
import { listSlideRecords, readSlideRecords } from '../export/run-samples.js';
import { compareKeys } from '../export/sample-key.js';
import type { ObjectStore } from '../store/object-store.js';
import { emptyReviewCounts, readReviewState, reviewCountsBySlide } from './review-state.js';

// Where a run's review stands, per slide and for the run: how many samples each slide would
// export (captioned samples of completed slides) and how many of them are reviewed, flagged,
// edited and accepted. `pathgen review stats` prints it; the review gate judges it.

export interface SlideReviewStats extends DatasetReviewCounts {
  slideId: string;
  /** The slide's exportable samples (what its export would hold before reviews). */
  samples: number;
}

export interface RunReviewStats extends DatasetReviewCounts {
  runId: string;
  slides: number;
  samples: number;
  /** Review records of the run (every action, not only the last one per sample). */
  records: number;
}

/** Per-slide counts, slides in key order; a slide that only reviews name (no record now) counts 0 samples. */
export async function slideReviewCounts(store: ObjectStore, runId: string): Promise<SlideReviewStats[]> {
  return (await runReviewStats(store, runId)).slides;
}

export async function runReviewStats(
  store: ObjectStore,
  runId: string,
): Promise<{ run: RunReviewStats; slides: SlideReviewStats[] }> {
  const state = await readReviewState(store, runId);
  const counted = reviewCountsBySlide(state);
  const slides = new Map<string, SlideReviewStats>();
  const listed = await listSlideRecords(store, runId);
  // One slide record in memory at a time: only its count of samples is kept.
  for await (const record of readSlideRecords(store, runId, listed)) {
    const samples =
      record.status === 'completed'
        ? record.samples.filter((sample) => sample.failure === undefined && sample.recordKey !== undefined).length
        : 0;
    slides.set(record.slideId, { slideId: record.slideId, samples, ...emptyReviewCounts() });
  }
  for (const [slideId, counts] of counted.slides) {
    slides.set(slideId, { slideId, samples: slides.get(slideId)?.samples ?? 0, ...counts });
  }
  const ordered = [...slides.values()].sort((a, b) => compareKeys(a.slideId, b.slideId));
  const records = [...state.values()].reduce((sum, review) => sum + review.records, 0);
  return {
    run: {
      runId,
      slides: ordered.length,
      samples: ordered.reduce((sum, slide) => sum + slide.samples, 0),
      records,
      ...counted.run,
    },
    slides: ordered,
  };
}
