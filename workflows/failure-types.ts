// Failure types a retry cannot fix: the slide is broken, absent or unsupported, or a setting is
// wrong. Activities raise them as ApplicationFailure types (activities/activity-failure.ts);
// workflows mark them non-retryable and end the slide with the type as its recorded reason.
export const nonRetryableFailureTypes = [
  'SlideUnreadable',
  'UnsupportedFormat',
  'NoTissue',
  'MissingResolution',
  'SlideNotFound',
  'BadSlideReference',
  'InvalidInput',
  'Denied',
  'Misconfigured',
  'InvalidKey',
] as const;

export type NonRetryableFailureType = (typeof nonRetryableFailureTypes)[number];
