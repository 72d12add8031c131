// The public surface of the agents' domain code: findings, describe, revise and summarize on an
// OpenAI-compatible server or built in, and the per-patch cascade. Nothing here knows about Temporal.

export {
  agentNames,
  patchAgentNames,
  agentBackends,
  type AgentName,
  type PatchAgentName,
  type AgentBackend,
  type AgentSettings,
  type AgentRetrySettings,
  type AgentsSettings,
} from './agent-settings.js';
export { agentError, isAgentError, isPatchFailure, type AgentError, type AgentErrorCode } from './agent-errors.js';
export { zeroUsage, addUsage, type AgentUsage } from '../contracts/usage.js';
export {
  createAgents,
  type AgentDeps,
  type Agents,
  type CallOptions,
  type PatchInput,
  type StageInfo,
  type SummarizeInput,
  type FindingsResult,
  type DescribeResult,
  type ReviseResult,
  type SummarizeResult,
} from './agents.js';
export {
  runPatchAgents,
  patchFailure,
  isPatchFailureRecord,
  type PatchCaptionRecord,
  type PatchFailure,
  type PatchFailureRecord,
  type PatchOutcome,
} from './patch-cascade.js';
export { retryRound, copiesUpstream, type RetryFailures, type StoredPatchOutcome } from './patch-retry.js';
export { extractFindings, builtinFindingsVersion } from './builtin-findings.js';
export { builtinVersions, builtinModel } from './builtin-agents.js';
export { shortenToBudget, wordsForBudget, type CountTokens, type Shortening } from './caption-budget.js';
export { diffSentences, isUnchanged, type SentenceEdits } from './sentence-diff.js';
export { splitSentences } from './sentences.js';
export { agentPrompts, promptVersion, type AgentPrompt } from './prompts.js';
export { proseProblem, repeatedNgramRatio } from './output-validation.js';
export { responseCacheKey, defaultCachePrefix, type CacheKeyParts } from './response-cache.js';
export { endpointLimiter, ConcurrencyLimiter } from './endpoint-limiter.js';
export { isLocalUrl } from './openai-backend.js';
export { patchSha256, type PatchImage } from './patch-image.js';
export type { SlideContext } from './slide-context.js';
