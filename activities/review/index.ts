// The public surface of human review: append-only records of accept, flag and edit actions, the
// state they fold into, the counts per slide and run, and what an export does with them. Nothing
// here knows about Temporal.

export {
  findSample,
  recordReview,
  type RecordedReview,
  type ReviewDeps,
  type ReviewErrorCode,
  type ReviewRequest,
} from './review-actions.js';
export { runReviewStats, slideReviewCounts, type RunReviewStats, type SlideReviewStats } from './review-counts.js';
export { exportReviewState, honourReviews, reviewSnapshotFormat, type ReviewSnapshot } from './export-reviews.js';
export {
  compactTime,
  parseReviewRecord,
  readReviewRecords,
  reviewActions,
  reviewRecordVersion,
  writeReviewRecord,
  type ReviewAction,
  type ReviewRecord,
  type StoredReview,
} from './review-record.js';
export {
  countReview,
  emptyReviewCounts,
  foldReviews,
  readReviewState,
  reviewCountsBySlide,
  type ReviewMark,
  type ReviewState,
  type ReviewStatus,
  type SampleReview,
} from './review-state.js';
