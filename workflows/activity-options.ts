import type { ActivityOptions } from '@temporalio/workflow';
import { nonRetryableFailureTypes } from './failure-types.js';

// Per-stage activity options in one place, each with the reason it is set that way.

/** Tiling a slide: staging a multi-GB slide and writing thousands of patches can take a while. */
export const tileActivityOptions: ActivityOptions = {
  // Long enough for a 4 GB slide staged from S3 plus patch export on a busy CPU worker.
  startToCloseTimeout: '2h',
  // The activity heartbeats every few seconds in every phase; 30 silent seconds means the worker is
  // gone, and the retry (on another worker) starts from the last heartbeat.
  heartbeatTimeout: '30s',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '2m',
    // Transient failures (store outages, a killed worker) get a few tries; broken slides none.
    maximumAttempts: 5,
    nonRetryableErrorTypes: [...nonRetryableFailureTypes],
  },
};
