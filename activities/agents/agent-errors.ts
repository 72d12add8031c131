import { PathgenError, isPathgenError } from '../common/errors.js';
import type { AgentName } from './agent-settings.js';

// The agents' three outcomes besides success. `ModelUnavailable` is worth retrying later (the server
// was down or overloaded past every attempt); `AgentMisconfigured` is not (fix the config or the
// key); `ModelOutputInvalid` fails the one patch and the batch goes on.
export type AgentErrorCode = 'ModelUnavailable' | 'AgentMisconfigured' | 'ModelOutputInvalid';

export type AgentError = PathgenError<AgentErrorCode>;

export function agentError(
  code: AgentErrorCode,
  agent: AgentName,
  message: string,
  details: Record<string, unknown> = {},
  options?: ErrorOptions,
): AgentError {
  return new PathgenError(code, message, { agent, ...details }, options);
}

export function isAgentError(error: unknown, code?: AgentErrorCode): error is AgentError {
  if (!isPathgenError(error)) return false;
  const known: readonly string[] = ['ModelUnavailable', 'AgentMisconfigured', 'ModelOutputInvalid'];
  return code === undefined ? known.includes(error.code) : error.code === code;
}

/** Failures that belong to one patch: record them and go on with the others. */
export function isPatchFailure(error: unknown): error is AgentError {
  return isAgentError(error, 'ModelOutputInvalid') || isAgentError(error, 'ModelUnavailable');
}
