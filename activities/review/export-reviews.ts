import { z } from 'zod';
import { PathgenError } from '../common/errors.js';
import { reviewKeys } from '../contracts/keys.js';
import type { DatasetReviewCounts } from '../export/dataset-card.js';
import type { ExportSample } from '../export/export-dataset.js';
import { compareKeys } from '../export/sample-key.js';
import { getIfExists } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { readReviewRecords } from './review-record.js';
import { countReview, foldReviews } from './review-state.js';
import type { ReviewState, SampleReview } from './review-state.js';

// An export honours the run's reviews: flagged samples are left out, edited captions replace the
// generated ones (in the shards' .txt, the TSV and the PathGen JSON), and an edited sample's
// metadata keeps both. The reviews are fixed for one export version: the folded state is written
// into the version's folder at its start (`reviews.json`) and an attempt that resumes the version
// reads it back, so reviews that arrive meanwhile wait for the next export. A run without reviews
// gets no snapshot and exports exactly as before; an attempt that resumes a version without a
// snapshot therefore knows the version started without reviews.

export const reviewSnapshotFormat = 'pathgen-review-snapshot/1';

export interface ReviewSnapshot {
  format: typeof reviewSnapshotFormat;
  runId: string;
  /** Review records folded into it. */
  records: number;
  /** One entry per reviewed sample, in key order. */
  reviews: SampleReview[];
}

const mark = { by: z.string(), at: z.string() };
const snapshotSchema = z.object({
  format: z.literal(reviewSnapshotFormat),
  runId: z.string(),
  records: z.number().int().nonnegative(),
  reviews: z.array(
    z.object({
      key: z.string(),
      slideId: z.string(),
      status: z.enum(['accepted', 'flagged', 'edited']),
      flag: z.object({ ...mark, reason: z.string() }).optional(),
      edit: z.object({ ...mark, caption: z.string(), previousCaption: z.string().optional() }).optional(),
      last: z.object({ ...mark, action: z.enum(['accept', 'flag', 'edit']) }),
      records: z.number().int().positive(),
    }),
  ),
});

/**
 * The reviews this export version honours: its snapshot when one exists; else, for a version that
 * starts (not one that resumes), the run's records now, snapshotted when there are any.
 */
export async function exportReviewState(
  store: ObjectStore,
  runId: string,
  versionPrefix: string,
  resuming: boolean,
): Promise<ReviewState> {
  const key = reviewKeys.exportSnapshot(versionPrefix);
  const stored = await getIfExists(store, key);
  if (stored !== undefined) return stateOf(parseSnapshot(stored, key));
  if (resuming) return new Map();
  const records = await readReviewRecords(store, runId);
  if (records.length === 0) return new Map();
  const state = foldReviews(records);
  const snapshot: ReviewSnapshot = {
    format: reviewSnapshotFormat,
    runId,
    records: records.length,
    reviews: [...state.values()].sort((a, b) => compareKeys(a.key, b.key)),
  };
  const body = Buffer.from(`${JSON.stringify(snapshot)}\n`);
  // Two attempts racing at the start: the first snapshot stands, and both use it.
  if (!(await store.putIfAbsent(key, body, { contentType: 'application/json' }))) {
    return stateOf(parseSnapshot(await store.get(key), key));
  }
  return state;
}

function parseSnapshot(bytes: Buffer, key: string): ReviewSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = snapshotSchema.safeParse(value);
  if (!parsed.success) {
    throw new PathgenError('InvalidInput', `${key} is not a review snapshot (${reviewSnapshotFormat})`, { key });
  }
  return parsed.data;
}

function stateOf(snapshot: ReviewSnapshot): ReviewState {
  return new Map(snapshot.reviews.map((review) => [review.key, review]));
}

/**
 * The samples with the reviews applied, counting into `counts` as they pass (in key order, like
 * the run's tally, so a checkpoint taken at a sample carries the counts up to it).
 */
export async function* honourReviews(
  samples: AsyncIterable<ExportSample>,
  reviews: ReadonlyMap<string, SampleReview>,
  counts: DatasetReviewCounts,
): AsyncGenerator<ExportSample> {
  for await (const sample of samples) {
    const review = reviews.get(sample.key);
    if (review === undefined) {
      yield sample;
      continue;
    }
    countReview(counts, review.status);
    if (review.status === 'flagged') continue;
    if (review.status === 'accepted' || review.edit === undefined) {
      yield sample;
      continue;
    }
    const { caption, by, at } = review.edit;
    yield {
      ...sample,
      caption,
      metadata: {
        ...sample.metadata,
        review: { caption, generatedCaption: sample.caption, editedBy: by, editedAt: at },
      },
    };
  }
}
