import type { ReviewGate } from '../contracts/run-settings.js';
import { slideReviewCounts } from '../review/review-counts.js';
import { reviewGateVerdict } from '../review/review-gate.js';
import type { ReviewGateCheck } from '../review/review-gate.js';
import type { ObjectStore } from '../store/object-store.js';
import { withTypedFailures } from '../runtime/activity-failure.js';

export interface CheckReviewGateInput {
  runId: string;
  gate: ReviewGate;
}

/** What the review gate's approveExport update asks: how far the run's review has come. */
export function createReviewActivities(deps: { store: ObjectStore }) {
  return {
    checkReviewGate: (input: CheckReviewGateInput): Promise<ReviewGateCheck> =>
      withTypedFailures(async () => reviewGateVerdict(input.gate, await slideReviewCounts(deps.store, input.runId))),
  };
}

export type ReviewActivities = ReturnType<typeof createReviewActivities>;
