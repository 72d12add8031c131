import { randomUUID } from 'node:crypto';
import { recordReview } from '../activities/review/index.js';
import type { RecordedReview, ReviewRequest } from '../activities/review/index.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import { captionTokenizer } from './caption-tokenizer.js';
import type { PathgenConfig } from './config/schema.js';

// Recording a review the way the CLI and the review app both do: edits are measured with CLIP's
// real vocabulary (loaded once, on the first edit: accepts and flags never need it), and every
// record key gets a random part of its own.

export type ReviewRecorder = (request: ReviewRequest) => Promise<RecordedReview>;

export function createReviewRecorder(
  config: Pick<PathgenConfig, 'clipVocabulary'>,
  store: ObjectStore,
): ReviewRecorder {
  return async (request) => {
    const tokenizer = request.action === 'edit' ? await captionTokenizer(config) : undefined;
    return await recordReview(
      {
        store,
        countTokens: (text) => tokenizer?.countTokens(text) ?? 0,
        nonce: () => randomUUID().slice(0, 8),
      },
      request,
    );
  };
}
