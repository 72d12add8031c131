import type { PatchMeasurements } from '../histology/index.js';
import type { ObjectStore } from '../store/object-store.js';
import { agentError, isAgentError } from './agent-errors.js';
import type { AgentBackend, AgentName, AgentsSettings } from './agent-settings.js';
import { agentNames } from './agent-settings.js';
import type { AgentUsage } from '../contracts/usage.js';
import { zeroUsage } from '../contracts/usage.js';
import {
  builtinDescribe,
  builtinModel,
  builtinRevise,
  builtinSummarize,
  builtinVersions,
  measure,
} from './builtin-agents.js';
import { builtinFindingsVersion, extractFindings } from './builtin-findings.js';
import type { CountTokens, Shortening } from './caption-budget.js';
import { shortenToBudget, wordsForBudget } from './caption-budget.js';
import { checkCaption, checkFindings, checkProse, checkRevision, findingsJsonSchema } from './answer-checks.js';
import type { ModelCall } from './model-call.js';
import { askModel } from './model-call.js';
import { OpenAiBackend } from './openai-backend.js';
import type { PatchImage } from './patch-image.js';
import { patchJpegDataUrl, patchPixels, patchSha256 } from './patch-image.js';
import { agentPrompts, promptVersion, renderPrompt } from './prompts.js';
import { ResponseCache } from './response-cache.js';
import type { SentenceEdits } from './sentence-diff.js';
import { diffSentences } from './sentence-diff.js';
import type { SlideContext } from './slide-context.js';
import { contextText, organOf } from './slide-context.js';

// The four agents behind one interface, each on the backend its settings name. Built once per
// worker (or CLI run) with its dependencies; every call takes the activity's cancellation signal.

export interface AgentDeps {
  /** CLIP BPE length of a text, start and end token included: the summarize budget's measure. */
  countTokens: CountTokens;
  /** Where model answers are cached; without one every call goes to the server. */
  store?: ObjectStore | undefined;
  /** Where API keys are read from (the variables the settings name); defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  onWarning?: ((message: string) => void) | undefined;
  /** For tests: deterministic retry jitter. */
  random?: (() => number) | undefined;
}

export interface PatchInput extends SlideContext {
  image: PatchImage;
  /** Hash of the stored patch; computed from `image` when absent. */
  imageSha256?: string | undefined;
  /** µm per pixel, for the built-in nuclei density. */
  mpp?: number | undefined;
}

/** The summarize agent reads text only; the patch's hash keeps its answers apart in the cache. */
export interface SummarizeInput {
  imageSha256: string;
  project?: string | undefined;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Which round of answers to ask for (model-call.ts): a rerun of a patch whose answers were all invalid. */
  answerRound?: number | undefined;
}

/** Which backend, model and prompt made an answer, and what it cost. */
export interface StageInfo {
  backend: AgentBackend;
  model: string;
  promptVersion: string;
  usage: AgentUsage;
}

export interface FindingsResult extends StageInfo {
  findings: string[];
}
export interface DescribeResult extends StageInfo {
  description: string;
  /** The built-in backend's measurements, stored with its text. */
  measurements?: PatchMeasurements | undefined;
}
export interface ReviseResult extends StageInfo {
  revised: string;
  edits: SentenceEdits;
  measurements?: PatchMeasurements | undefined;
}
export interface SummarizeResult extends StageInfo {
  caption: string;
  /** CLIP BPE tokens of the caption, start and end included; never above the budget. */
  tokens: number;
  shortened: Shortening;
}

export interface Agents {
  readonly settings: AgentsSettings;
  findings(report: string, options?: CallOptions): Promise<FindingsResult>;
  describe(patch: PatchInput, options?: CallOptions): Promise<DescribeResult>;
  revise(
    patch: PatchInput,
    description: string,
    options?: CallOptions & { measurements?: PatchMeasurements | undefined },
  ): Promise<ReviseResult>;
  summarize(patch: SummarizeInput, revised: string, options?: CallOptions): Promise<SummarizeResult>;
}

/** Builds the agents; a model backend without its base URL, model or key fails here, before any request. */
export function createAgents(settings: AgentsSettings, deps: AgentDeps): Agents {
  const env = deps.env ?? process.env;
  const backends = new Map<AgentName, OpenAiBackend>();
  for (const agent of agentNames) {
    if (settings[agent].backend !== 'openai') continue;
    backends.set(
      agent,
      new OpenAiBackend(agent, settings[agent], {
        retry: settings.retry,
        endpointConcurrency: settings.endpointConcurrency,
        env,
        ...(deps.random ? { random: deps.random } : {}),
      }),
    );
  }
  const cache = deps.store ? new ResponseCache(deps.store, deps.onWarning) : undefined;
  const budget = settings.summarizeTokenBudget;

  /** Runs one model-backed call; its usage is returned with the answer or attached to the error. */
  async function viaModel<T extends object>(
    agent: AgentName,
    imageSha256: string | undefined,
    options: CallOptions,
    run: (call: ModelCall) => Promise<T>,
  ): Promise<T & StageInfo> {
    const started = Date.now();
    const backend = backends.get(agent) as OpenAiBackend;
    const usage: AgentUsage = { ...zeroUsage, calls: 1 };
    const call: ModelCall = {
      agent,
      backend,
      cache,
      promptVersion: promptVersion(agent),
      imageSha256,
      imageVariant:
        agent === 'describe' || agent === 'revise'
          ? `${settings[agent].inputSize}px q${settings[agent].jpegQuality}`
          : undefined,
      maxInvalidOutputRetries: settings.maxInvalidOutputRetries,
      answerRound: options.answerRound,
      signal: options.signal,
      usage,
    };
    try {
      const result = await run(call);
      usage.latencyMs = Date.now() - started;
      return { ...result, backend: 'openai', model: backend.model, promptVersion: call.promptVersion, usage };
    } catch (error) {
      usage.latencyMs = Date.now() - started;
      throw withUsage(error, usage);
    }
  }

  async function builtin<T extends object>(version: string, run: () => T | Promise<T>): Promise<T & StageInfo> {
    const started = Date.now();
    const result = await run();
    const usage: AgentUsage = { ...zeroUsage, calls: 1, latencyMs: Date.now() - started };
    return { ...result, backend: 'builtin', model: builtinModel, promptVersion: version, usage };
  }

  const imageUrl = (agent: 'describe' | 'revise', image: PatchImage) =>
    patchJpegDataUrl(image, { size: settings[agent].inputSize, quality: settings[agent].jpegQuality });
  const measurementsOf = async (patch: PatchInput) => measure(await patchPixels(patch.image), patch.mpp);
  const fitted = (caption: string, shortened: Shortening) => {
    const tokens = deps.countTokens(caption);
    if (caption === '' || tokens > budget)
      throw agentError('ModelOutputInvalid', 'summarize', `no caption fits the budget of ${budget} tokens`, {
        reason: 'caption cannot fit the token budget',
        budget,
      });
    return { caption, tokens, shortened };
  };

  return {
    settings,

    async findings(report, options = {}) {
      if (settings.findings.backend === 'builtin')
        return builtin(builtinFindingsVersion, () => ({ findings: extractFindings(report) }));
      return viaModel('findings', undefined, options, async (call) => {
        // An empty report has no findings; no need to ask.
        if (report.trim() === '') return { findings: [] };
        const prompt = agentPrompts.findings;
        const text = renderPrompt(prompt.user, { report: report.trim() });
        const findings = await askModel(
          call,
          { system: prompt.system, text, jsonSchema: findingsJsonSchema },
          checkFindings,
        );
        return { findings };
      });
    },

    async describe(patch, options = {}) {
      if (settings.describe.backend === 'builtin')
        return builtin(builtinVersions.describe, async () => {
          const measurements = await measurementsOf(patch);
          return { description: builtinDescribe(measurements, patch), measurements };
        });
      return viaModel('describe', patch.imageSha256 ?? patchSha256(patch.image), options, async (call) => {
        const prompt = agentPrompts.describe;
        const request = {
          system: prompt.system,
          text: renderPrompt(prompt.user, { context: contextText(patch) }),
          imageDataUrl: await imageUrl('describe', patch.image),
        };
        return { description: await askModel(call, request, checkProse(settings.describeMaxChars)) };
      });
    },

    async revise(patch, description, options = {}) {
      if (settings.revise.backend === 'builtin')
        return builtin(builtinVersions.revise, async () => {
          const measurements = options.measurements ?? (await measurementsOf(patch));
          return { ...builtinRevise(description, measurements, patch), measurements };
        });
      return viaModel('revise', patch.imageSha256 ?? patchSha256(patch.image), options, async (call) => {
        const prompt = agentPrompts.revise;
        const request = {
          system: prompt.system,
          text: renderPrompt(prompt.user, { context: contextText(patch), description }),
          imageDataUrl: await imageUrl('revise', patch.image),
        };
        const revised = await askModel(call, request, checkRevision(description, settings.reviseMaxChars));
        return { revised, edits: diffSentences(description, revised) };
      });
    },

    async summarize(patch, revised, options = {}) {
      const organ = organOf(patch.project);
      const organFirst = organ ? (sentence: string) => sentence.toLowerCase().includes(organ) : undefined;
      if (settings.summarize.backend === 'builtin')
        return builtin(builtinVersions.summarize, () => {
          const { caption, shortened } = builtinSummarize(revised, budget, deps.countTokens, organ);
          return fitted(caption, shortened);
        });
      return viaModel('summarize', patch.imageSha256, options, async (call) => {
        const prompt = agentPrompts.summarize;
        const system = renderPrompt(prompt.system, { maxWords: String(wordsForBudget(budget)) });
        const text = renderPrompt(prompt.user, { organ: organ ?? 'not stated', description: revised });
        const check = checkCaption(budget * 12);
        const first = await askModel(call, { system, text }, check);
        if (deps.countTokens(first) <= budget) return fitted(first, 'none');

        const stricter = renderPrompt(prompt.stricter ?? '', { maxWords: String(wordsForBudget(budget, true)) });
        let second: string | undefined;
        try {
          second = await askModel(call, { system: `${system}\n\n${stricter}`, text }, check, 'stricter');
        } catch (error) {
          // The stricter retry is a second chance, not a requirement: the first answer can still be cut.
          if (!isAgentError(error, 'ModelOutputInvalid')) throw error;
        }
        if (second !== undefined && deps.countTokens(second) <= budget) return fitted(second, 'retry');
        return fitted(shortenToBudget(second ?? first, budget, deps.countTokens, organFirst), 'extractive');
      });
    },
  };
}

/** An agent error with what the failed call cost, so a failure record can still account for it. */
function withUsage(error: unknown, usage: AgentUsage): unknown {
  if (!isAgentError(error)) return error;
  return agentError(
    error.code,
    error.details.agent as AgentName,
    error.message,
    { ...error.details, usage },
    {
      cause: error.cause,
    },
  );
}
