import { ApplicationFailure } from '@temporalio/activity';
import { isPathgenError } from '../common/errors.js';
import { nonRetryableFailureTypes } from '../contracts/failure-types.js';

const nonRetryable = new Set<string>(nonRetryableFailureTypes);

/**
 * Converts what an activity threw into what Temporal should see: our typed errors become
 * ApplicationFailures whose `type` is the error code (non-retryable where retrying is useless);
 * anything else is rethrown as is and retried by the activity's retry policy.
 */
export function toActivityFailure(error: unknown): unknown {
  if (error instanceof ApplicationFailure) return error;
  if (isPathgenError(error)) {
    return ApplicationFailure.create({
      type: error.code,
      message: error.message,
      nonRetryable: nonRetryable.has(error.code),
      details: [error.details],
      cause: error,
    });
  }
  return error;
}

/** Runs an activity body and reports its failure in the shape above. */
export async function withTypedFailures<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw toActivityFailure(error);
  }
}
