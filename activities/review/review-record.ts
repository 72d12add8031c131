import { z } from 'zod';
import { PathgenError } from '../common/errors.js';
import { reviewKeys } from '../contracts/keys.js';
import { forEachBounded } from '../export/store-upload.js';
import { listAll } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';

// A person's review of one sample is an append-only record: one object per action under the run's
// `runs/<runId>/reviews/`, written once with putIfAbsent and never changed or deleted, so the
// history of who did what and when survives restarts and concurrent reviewers. What a sample's
// review amounts to is a fold over these records (review-state.ts).

export const reviewRecordVersion = 1;

export const reviewActions = ['accept', 'flag', 'edit'] as const;
export type ReviewAction = (typeof reviewActions)[number];

export interface ReviewRecord {
  version: typeof reviewRecordVersion;
  runId: string;
  /** The sample's export key. */
  key: string;
  /** From the slide record that lists the sample (never parsed from the key). */
  slideId: string;
  action: ReviewAction;
  /** Why a flagged sample should be left out. */
  reason?: string;
  /** An edit's caption. */
  caption?: string;
  /** The caption an edit replaced: the generated one, or an earlier edit's. */
  previousCaption?: string;
  reviewer: string;
  /** ISO 8601. */
  at: string;
}

const nonEmpty = z.string().trim().min(1);
const recordSchema = z
  .object({
    version: z.literal(reviewRecordVersion),
    runId: nonEmpty,
    key: nonEmpty,
    slideId: nonEmpty,
    action: z.enum(reviewActions),
    reason: nonEmpty.optional(),
    caption: nonEmpty.optional(),
    previousCaption: z.string().optional(),
    reviewer: nonEmpty,
    at: z.iso.datetime(),
  })
  .refine((record) => record.action !== 'flag' || record.reason !== undefined, 'a flag needs a reason')
  .refine((record) => record.action !== 'edit' || record.caption !== undefined, 'an edit needs a caption');

/** A stored record with the key it is stored at (the fold's tie-break after its time). */
export interface StoredReview {
  recordKey: string;
  record: ReviewRecord;
}

/** `20261207T165926123Z`: the record key's time, sortable as text. */
export function compactTime(iso: string): string {
  return iso.replace(/[-:.]/g, '');
}

/** Stores a new record under a fresh key; returns that key. Never replaces an existing record. */
export async function writeReviewRecord(store: ObjectStore, record: ReviewRecord, nonce: string): Promise<string> {
  const key = reviewKeys.record(record.runId, compactTime(record.at), nonce);
  const body = Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
  if (!(await store.putIfAbsent(key, body, { contentType: 'application/json' }))) {
    throw new PathgenError('ReviewConflict', `review record ${key} already exists; try again`, { key });
  }
  return key;
}

/** Every review record of the run, in key order; a record that is not one stops the reader by name. */
export async function readReviewRecords(store: ObjectStore, runId: string): Promise<StoredReview[]> {
  const keys: string[] = [];
  for await (const object of listAll(store, reviewKeys.records(runId))) {
    if (object.key.endsWith('.json')) keys.push(object.key);
  }
  const records: StoredReview[] = new Array<StoredReview>(keys.length);
  await forEachBounded(
    keys.map((key, index) => ({ key, index })),
    16,
    async ({ key, index }) => {
      records[index] = { recordKey: key, record: parseReviewRecord(await store.get(key), key, runId) };
    },
  );
  return records;
}

export function parseReviewRecord(bytes: Buffer, key: string, runId: string): ReviewRecord {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new PathgenError('InvalidInput', `review record ${key} is not valid JSON: ${(error as Error).message}`, {
      key,
    });
  }
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new PathgenError('InvalidInput', `review record ${key} is not a review record (${where}${issue?.message})`, {
      key,
    });
  }
  if (parsed.data.runId !== runId) {
    throw new PathgenError('InvalidInput', `review record ${key} belongs to run ${parsed.data.runId}`, { key });
  }
  return parsed.data;
}
