import { CommanderError } from 'commander';
import { errorMessage, isPathgenError } from '../../activities/common/errors.js';
import { slideFailureTypes } from '../../activities/contracts/failure-types.js';

// Exit codes: 0 success, 1 a check or job failed, 2 bad usage or invalid configuration,
// 3 a typed input failure (e.g. an unreadable slide).
export const exitCodes = { ok: 0, failed: 1, usage: 2, badInput: 3 } as const;

/** A failure that already reads well: its message is printed as is, and it picks its exit code. */
export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

// Typed failures of the input itself: exit 3 with the reason, never a stack trace.
const inputFailureCodes = new Set<string>(slideFailureTypes);
// A setting that cannot work (a wrong model server, a missing key or model): bad configuration.
const configFailureCodes = new Set<string>([
  'AgentMisconfigured',
  'ModelNotFound',
  'ModelInvalid',
  'Misconfigured',
  'ProviderUnavailable',
]);

/** Tells stderr what went wrong, as briefly as the kind of error allows, and returns the exit code. */
export function reportFailure(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version are "errors" to commander; it already printed what was asked for.
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0
      ? exitCodes.ok
      : exitCodes.usage;
  }
  if (error instanceof ExitError) {
    process.stderr.write(`${error.message}\n`);
    return error.exitCode;
  }
  if (isPathgenError(error)) {
    process.stderr.write(`pathgen: ${error.code}: ${error.message.split('\n')[0]}\n`);
    if (configFailureCodes.has(error.code)) return exitCodes.usage;
    return inputFailureCodes.has(error.code) ? exitCodes.badInput : exitCodes.failed;
  }
  process.stderr.write(
    `pathgen: unexpected error: ${errorMessage(error)}\n${error instanceof Error ? (error.stack ?? '') : ''}\n`,
  );
  return exitCodes.failed;
}
