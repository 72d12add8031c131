// Failure types a retry cannot fix. Activities raise them as ApplicationFailure types
// (activities/runtime/activity-failure.ts); workflows mark them non-retryable and end the slide with the
// type as its recorded reason.

/** The slide itself is broken, absent or unsupported: an outcome of the slide, fixed by a person. */
export const slideFailureTypes = [
  'SlideUnreadable',
  'UnsupportedFormat',
  'NoTissue',
  'MissingResolution',
  'SlideNotFound',
  'BadSlideReference',
] as const;

/** A setting or an input is wrong: retrying the same call gives the same answer. */
export const nonRetryableFailureTypes = [
  ...slideFailureTypes,
  'InvalidInput',
  'Denied',
  'Misconfigured',
  'InvalidKey',
  'AgentMisconfigured',
  'ModelNotFound',
  'ModelInvalid',
  'InvalidTrainInput',
  'TrainingDataMissing',
  'TrainerNotInstalled',
  'InvalidDataset',
  'InvalidEvalInput',
  'TrainingDiverged',
] as const;

export type NonRetryableFailureType = (typeof nonRetryableFailureTypes)[number];
