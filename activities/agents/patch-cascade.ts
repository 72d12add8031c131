import type { PatchMeasurements } from '../histology/index.js';
import { isPathgenError } from '../common/errors.js';
import { isPatchFailure } from './agent-errors.js';
import type { AgentBackend, PatchAgentName } from './agent-settings.js';
import type { AgentUsage } from '../contracts/usage.js';
import { addUsage } from '../contracts/usage.js';
import type { Agents, CallOptions, PatchInput, StageInfo } from './agents.js';
import type { Shortening } from './caption-budget.js';
import { patchSha256 } from './patch-image.js';
import type { SentenceEdits } from './sentence-diff.js';

// One patch through describe → revise → summarize. A failure that belongs to the patch (an invalid
// answer after its retries, a server that never answered, an undecodable image) becomes a record
// with its reason so the batch goes on; a misconfiguration or a cancellation is thrown, because
// every other patch would meet it too.

export interface PatchCaptionRecord {
  description: string;
  revised: string;
  edits: SentenceEdits;
  caption: string;
  tokens: number;
  shortened: Shortening;
  backends: Record<PatchAgentName, AgentBackend>;
  models: Record<PatchAgentName, string>;
  promptVersions: Record<PatchAgentName, string>;
  usage: Record<PatchAgentName | 'total', AgentUsage>;
  /** The built-in backend's measurements of the pixels, when describe or revise used it. */
  measurements?: PatchMeasurements;
}

export interface PatchFailure {
  agent: PatchAgentName;
  code: string;
  reason: string;
}

export interface PatchFailureRecord {
  failure: PatchFailure;
  /** What the stages that ran cost, the failed one included. */
  usage: Partial<Record<PatchAgentName, AgentUsage>> & { total: AgentUsage };
}

export type PatchOutcome = PatchCaptionRecord | PatchFailureRecord;

export function isPatchFailureRecord(outcome: PatchOutcome): outcome is PatchFailureRecord {
  return 'failure' in outcome;
}

export async function runPatchAgents(
  input: PatchInput,
  agents: Agents,
  options: CallOptions = {},
): Promise<PatchOutcome> {
  const patch: PatchInput & { imageSha256: string } = {
    ...input,
    imageSha256: input.imageSha256 ?? patchSha256(input.image),
  };
  const usage: Partial<Record<PatchAgentName, AgentUsage>> = {};
  let stage: PatchAgentName = 'describe';
  try {
    const described = await agents.describe(patch, options);
    usage.describe = described.usage;
    stage = 'revise';
    const revised = await agents.revise(patch, described.description, {
      ...options,
      measurements: described.measurements,
    });
    usage.revise = revised.usage;
    stage = 'summarize';
    const summary = await agents.summarize(patch, revised.revised, options);
    usage.summarize = summary.usage;
    const stages = { describe: described, revise: revised, summarize: summary };
    const measurements = described.measurements ?? revised.measurements;
    return {
      description: described.description,
      revised: revised.revised,
      edits: revised.edits,
      caption: summary.caption,
      tokens: summary.tokens,
      shortened: summary.shortened,
      backends: pick(stages, (s) => s.backend),
      models: pick(stages, (s) => s.model),
      promptVersions: pick(stages, (s) => s.promptVersion),
      usage: { ...pick(stages, (s) => s.usage), total: addUsage(described.usage, revised.usage, summary.usage) },
      ...(measurements ? { measurements } : {}),
    };
  } catch (error) {
    const failure = patchFailure(stage, error);
    if (!failure) throw error;
    const spent = isPathgenError(error) ? (error.details.usage as AgentUsage | undefined) : undefined;
    if (spent) usage[stage] = spent;
    return { failure, usage: { ...usage, total: addUsage(...Object.values(usage)) } };
  }
}

/** The record of a failure that belongs to one patch, or undefined for errors that must stop the batch. */
export function patchFailure(agent: PatchAgentName, error: unknown): PatchFailure | undefined {
  if (isPatchFailure(error) || (isPathgenError(error) && error.code === 'InvalidInput'))
    return { agent, code: error.code, reason: error.message };
  return undefined;
}

function pick<T>(stages: Record<PatchAgentName, StageInfo>, get: (stage: StageInfo) => T): Record<PatchAgentName, T> {
  return { describe: get(stages.describe), revise: get(stages.revise), summarize: get(stages.summarize) };
}
