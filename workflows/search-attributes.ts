import { defineSearchAttributeKey } from '@temporalio/common';

// Custom search attributes pathgen sets on its workflows so that people can find runs and slides
// in the Temporal UI and with `temporal workflow list --query`. infra/dev.sh and the test harness
// register exactly these on the dev server (a unit test keeps the three in step).
export const PathgenRunId = defineSearchAttributeKey('PathgenRunId', 'KEYWORD');
export const PathgenSlideId = defineSearchAttributeKey('PathgenSlideId', 'KEYWORD');
export const PathgenStage = defineSearchAttributeKey('PathgenStage', 'KEYWORD');
export const PathgenStatus = defineSearchAttributeKey('PathgenStatus', 'KEYWORD');
export const PathgenFailureReason = defineSearchAttributeKey('PathgenFailureReason', 'KEYWORD');

export const pathgenSearchAttributes = [
  PathgenRunId,
  PathgenSlideId,
  PathgenStage,
  PathgenStatus,
  PathgenFailureReason,
] as const;
