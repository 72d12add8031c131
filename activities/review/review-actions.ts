import { PathgenError } from '../common/errors.js';
import type { SampleRef, SlideRecord } from '../contracts/slide-record.js';
import { listSlideRecords, readSlideRecords } from '../export/run-samples.js';
import { sampleKey } from '../export/sample-key.js';
import { getIfExists } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { reviewRecordVersion, writeReviewRecord } from './review-record.js';
import type { ReviewAction, ReviewRecord } from './review-record.js';
import { readReviewState } from './review-state.js';

// Recording one review action: the request is checked against the run as the store holds it (the
// key must be a captioned sample of a completed slide, found in its slide record; a flag needs a
// reason; an edit needs a caption that fits CLIP's context), then written as a new record.
// Each refusal is a typed error whose message says what to change.

export type ReviewErrorCode = 'ReviewInvalid' | 'SampleNotFound' | 'RunNotFound';

export interface ReviewRequest {
  runId: string;
  key: string;
  action: ReviewAction;
  reason?: string;
  caption?: string;
  reviewer: string;
}

export interface ReviewDeps {
  store: ObjectStore;
  /** CLIP tokens of a caption, start and end included (the summarize agent's count). */
  countTokens: (text: string) => number;
  /** Default 77: CLIP's text context. */
  tokenLimit?: number;
  now?: () => Date;
  /** The record key's random part. */
  nonce: () => string;
}

export interface RecordedReview {
  recordKey: string;
  record: ReviewRecord;
}

export async function recordReview(deps: ReviewDeps, request: ReviewRequest): Promise<RecordedReview> {
  const { store } = deps;
  const reviewer = request.reviewer.trim();
  if (reviewer === '') invalid('the reviewer is empty: set review.reviewer or PATHGEN_REVIEWER');
  const reason = request.reason?.trim();
  const caption = request.caption?.trim();
  if (request.action === 'flag' && !reason) invalid('a flag needs a reason (--reason TEXT)');
  if (request.action === 'edit') {
    if (!caption) invalid('an edit needs a non-empty caption (--caption TEXT)');
    const limit = deps.tokenLimit ?? 77;
    const tokens = deps.countTokens(caption);
    if (tokens > limit) {
      invalid(`the caption has ${tokens} CLIP tokens (start and end included); the limit is ${limit}: shorten it`, {
        tokens,
        limit,
      });
    }
  }
  const { record: slide, ref } = await findSample(store, request.runId, request.key);
  const record: ReviewRecord = {
    version: reviewRecordVersion,
    runId: request.runId,
    key: request.key,
    slideId: slide.slideId,
    action: request.action,
    ...(request.action === 'flag' ? { reason } : {}),
    ...(request.action === 'edit'
      ? { caption, previousCaption: await currentCaption(store, request.runId, request.key, ref) }
      : {}),
    reviewer,
    at: (deps.now?.() ?? new Date()).toISOString(),
  };
  return { recordKey: await writeReviewRecord(store, record, deps.nonce()), record };
}

/** The sample's slide record and entry; the slide is found by its record, never by parsing the key. */
export async function findSample(
  store: ObjectStore,
  runId: string,
  key: string,
): Promise<{ record: SlideRecord; ref: SampleRef & { recordKey: string } }> {
  const slides = await listSlideRecords(store, runId);
  if (slides.length === 0) {
    throw new PathgenError<ReviewErrorCode>('RunNotFound', `run ${runId} has no slide records in the store`, {
      runId,
    });
  }
  // Every key of a slide starts with its key prefix: only those slides can hold the sample.
  const candidates = slides.filter((slide) => key.startsWith(slide.keyPrefix));
  for await (const record of readSlideRecords(store, runId, candidates)) {
    const ref = record.samples.find((sample) => sampleKey(record.slideId, sample.x, sample.y) === key);
    if (ref === undefined) continue;
    if (record.status !== 'completed') {
      invalid(`slide ${record.slideId} did not complete (${record.status}): its samples are not exported`);
    }
    if (ref.failure !== undefined || ref.recordKey === undefined) {
      const why = ref.failure ? `${ref.failure.code}: ${ref.failure.reason}` : 'no caption record';
      invalid(`sample ${key} has no caption to review (${why})`);
    }
    return { record, ref: { ...ref, recordKey: ref.recordKey } };
  }
  throw new PathgenError<ReviewErrorCode>('SampleNotFound', `run ${runId} has no sample ${key}`, { runId, key });
}

/** What an edit replaces: the latest edit's caption, else the generated one. */
async function currentCaption(
  store: ObjectStore,
  runId: string,
  key: string,
  ref: { recordKey: string },
): Promise<string> {
  const edited = (await readReviewState(store, runId)).get(key)?.edit?.caption;
  if (edited !== undefined) return edited;
  const bytes = await getIfExists(store, ref.recordKey);
  const caption = bytes === undefined ? undefined : captionOf(bytes);
  if (caption === undefined) invalid(`sample ${key} has no generated caption in ${ref.recordKey}`);
  return caption;
}

function captionOf(bytes: Buffer): string | undefined {
  try {
    const value = (JSON.parse(bytes.toString('utf8')) as { caption?: unknown } | null)?.caption;
    return typeof value === 'string' && value.trim() !== '' ? value : undefined;
  } catch {
    return undefined;
  }
}

function invalid(message: string, details: Record<string, unknown> = {}): never {
  throw new PathgenError<ReviewErrorCode>('ReviewInvalid', message, details);
}
