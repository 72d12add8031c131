import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { withTypedFailures } from '../runtime/activity-failure.js';
import { agentKeys, findingsKey } from '../contracts/keys.js';
import { zeroUsage, patchFailure, promptVersion, addUsage, copiesUpstream, retryRound } from '../agents/index.js';
import type {
  AgentUsage,
  Agents,
  DescribeResult,
  PatchAgentName,
  PatchFailure,
  RetryFailures,
  ReviseResult,
  SummarizeResult,
} from '../agents/index.js';
import { readFile } from 'node:fs/promises';
import { PathgenError, errorMessage } from '../common/errors.js';
import { parseSlideReference } from '../staging/slide-reference.js';
import { whileHeartbeating } from '../runtime/heartbeat.js';
import { getIfExists } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';

// The agents queue's activities. Each works through a batch of patches (never one activity per
// patch), writes one result object per patch as soon as it has it, and skips patches whose result
// exists: a retried activity or a rerun slide picks up where the last attempt stopped, and the
// agents' response cache means no answer is paid for twice. Workflows get counts, usage and
// failures; texts stay in the store.

// The slide and run workflows take the rerun's failure codes' type from here, the agents stage's factory.
export type { RetryFailures };

export interface PatchRef {
  /** `<x>_<y>`: the patch's level-0 corner, unique in its slide. */
  id: string;
  /** Store key of the patch JPEG written by the select stage. */
  key: string;
  /** µm per pixel of the patch, for the built-in measurements. */
  mpp?: number;
  /** Pyramid level and side (level pixels) the patch was read at. */
  level?: number;
  size?: number;
}

export interface FindingsInput {
  slideId: string;
  /** The report text, or where it is (a path, file:// or s3:// URI, or store key). */
  report?: string;
  reportKey?: string;
}

export interface FindingsOutput {
  key: string;
  findings: number;
  backend: string;
  model: string;
  usage: AgentUsage;
  reused: boolean;
}

export interface AgentBatchInput {
  slideId: string;
  project?: string;
  /** Findings of the slide's report (from extractFindings), the agents' context. */
  findingsKey?: string;
  patches: PatchRef[];
  /** Results go to `<outputPrefix>/<stage>/<id>.json`. */
  outputPrefix: string;
  /**
   * A rerun's patch failures to compute again (failure codes, or 'all'). Absent: only patches whose
   * server never answered are, as on any run of the batch (agents/patch-retry.ts).
   */
  retryFailures?: RetryFailures;
  /** Which of the slide's batches this is (`2/4`), for heartbeats: the UI then says where a long activity is. */
  batch?: string;
}

export interface AgentBatchResult {
  stage: PatchAgentName;
  patches: number;
  succeeded: number;
  failed: number;
  /** Results found from an earlier attempt and not computed again. */
  reused: number;
  usage: AgentUsage;
  failures: Record<string, number>;
}

/**
 * What a stage stores per patch: its answer, or why the patch has none (`round`, `retriedIn`: which
 * answers failed and which rerun recorded it, see agents/patch-retry.ts).
 */
export type StageRecord<T> =
  ({ ok: true } & T) | { ok: false; failure: PatchFailure; round?: number; retriedIn?: string };

export type AgentHeartbeat = { stage: PatchAgentName | 'findings'; done: number; total: number; batch?: string };

export interface AgentStageDeps {
  store: ObjectStore;
  /** The worker's agents, built once from its config (model servers are the worker's concern). */
  agents: () => Promise<Agents>;
}

export function createAgentActivities(deps: AgentStageDeps) {
  return {
    /** A report → findings, stored once per (report, agent backend, model, prompt version). */
    extractFindings: (input: FindingsInput) =>
      withTypedFailures(() =>
        whileHeartbeating(
          () => ({ stage: 'findings' }),
          () => extractFindings(deps, input),
        ),
      ),
    describePatches: (input: AgentBatchInput) => withTypedFailures(() => runStage(deps, 'describe', input)),
    revisePatches: (input: AgentBatchInput) => withTypedFailures(() => runStage(deps, 'revise', input)),
    summarizePatches: (input: AgentBatchInput) => withTypedFailures(() => runStage(deps, 'summarize', input)),
  };
}

export type AgentActivities = ReturnType<typeof createAgentActivities>;

async function extractFindings(deps: AgentStageDeps, input: FindingsInput): Promise<FindingsOutput> {
  const report = input.report ?? (input.reportKey ? await readReport(deps.store, input.reportKey) : '');
  const agents = await deps.agents();
  const settings = agents.settings.findings;
  const model = settings.backend === 'builtin' ? 'builtin' : (settings.model ?? '');
  const key = findingsKey(input.slideId, hash([report, settings.backend, model, promptVersion('findings')]));
  const existing = await getIfExists(deps.store, key);
  if (existing) {
    const stored = parseJson<StoredFindings>(existing, key);
    return {
      key,
      findings: stored.findings.length,
      backend: stored.backend,
      model: stored.model,
      usage: zeroUsage,
      reused: true,
    };
  }
  // A slide without a report has no findings: the select stage then ranks by attributes only.
  const result =
    report.trim() === '' ? undefined : await agents.findings(report, { signal: Context.current().cancellationSignal });
  const record: StoredFindings = result
    ? {
        findings: result.findings,
        backend: result.backend,
        model: result.model,
        promptVersion: result.promptVersion,
        usage: result.usage,
      }
    : { findings: [], backend: settings.backend, model, promptVersion: 'no-report', usage: zeroUsage };
  await deps.store.put(key, json(record), { contentType: 'application/json' });
  return {
    key,
    findings: record.findings.length,
    backend: record.backend,
    model: record.model,
    usage: record.usage,
    reused: false,
  };
}

/** A report named by path, file:// or s3:// URI, or store key, as slides are. */
async function readReport(store: ObjectStore, reference: string): Promise<string> {
  const location = parseSlideReference(reference, store);
  if (location.kind === 'store') return (await store.get(location.key)).toString('utf8');
  try {
    return await readFile(location.path, 'utf8');
  } catch (error) {
    throw new PathgenError('InvalidInput', `cannot read report ${location.path}: ${errorMessage(error)}`, {
      reference,
    });
  }
}

export interface StoredFindings {
  findings: string[];
  backend: string;
  model: string;
  promptVersion: string;
  usage: AgentUsage;
}

export async function readFindings(store: ObjectStore, key: string | undefined): Promise<string[]> {
  return key ? parseJson<StoredFindings>(await store.get(key), key).findings : [];
}

async function runStage(
  deps: AgentStageDeps,
  stage: PatchAgentName,
  input: AgentBatchInput,
): Promise<AgentBatchResult> {
  const context = Context.current();
  const signal = context.cancellationSignal;
  // The slide workflow execution this batch runs in: a retried attempt of it is the same rerun.
  const execution = context.info.workflowExecution?.runId;
  const agents = await deps.agents();
  const findings = await readFindings(deps.store, input.findingsKey);
  const result: AgentBatchResult = {
    stage,
    patches: input.patches.length,
    succeeded: 0,
    failed: 0,
    reused: 0,
    usage: zeroUsage,
    failures: {},
  };
  const count = (record: StageRecord<object>) => {
    if (record.ok) result.succeeded += 1;
    else {
      result.failed += 1;
      result.failures[record.failure.code] = (result.failures[record.failure.code] ?? 0) + 1;
    }
  };
  let done = 0;
  const progress = (): AgentHeartbeat => ({
    stage,
    done,
    total: input.patches.length,
    ...(input.batch !== undefined ? { batch: input.batch } : {}),
  });

  // Model calls queue on the endpoint's shared limiter; built-in ones are CPU work on this thread.
  const parallel = agents.settings[stage].backend === 'openai' ? agents.settings.endpointConcurrency : 1;
  // Heartbeats also flow while a patch waits out rate limits, so a short heartbeat timeout still
  // tells a slow endpoint from a dead worker.
  await whileHeartbeating(progress, () =>
    forEachConcurrently(input.patches, parallel, signal, async (patch) => {
      const key = agentKeys.stage(input.outputPrefix, stage, patch.id);
      const stored = await getIfExists(deps.store, key);
      const existing = stored ? parseJson<StageRecord<object>>(stored, key) : undefined;
      const round = existing ? await retryRoundOf(deps.store, stage, input, patch.id, existing, execution) : 0;
      if (existing && round === undefined) {
        result.reused += 1;
        count(existing);
      } else {
        const options = {
          signal,
          answerRound: round ?? 0,
          ...(input.retryFailures && execution ? { retriedIn: execution } : {}),
        };
        const { record, usage } = await runPatchStage(deps.store, agents, stage, input, patch, findings, options);
        result.usage = addUsage(result.usage, usage);
        await deps.store.put(key, json(record), { contentType: 'application/json' });
        count(record);
      }
      done += 1;
      context.heartbeat(progress());
    }),
  );
  return result;
}

type StageAnswer = DescribeResult | ReviseResult | SummarizeResult;

/** Whether a stored record is computed again, and in which round (agents/patch-retry.ts); undefined: kept. */
async function retryRoundOf(
  store: ObjectStore,
  stage: PatchAgentName,
  input: AgentBatchInput,
  id: string,
  existing: StageRecord<object>,
  execution: string | undefined,
): Promise<number | undefined> {
  const before = stage === 'summarize' ? 'revise' : 'describe';
  const upstreamRecord = copiesUpstream(stage, existing)
    ? await upstream<object>(store, input.outputPrefix, before, id)
    : undefined;
  return retryRound(stage, existing, input.retryFailures, upstreamRecord, execution);
}

async function runPatchStage(
  store: ObjectStore,
  agents: Agents,
  stage: PatchAgentName,
  input: AgentBatchInput,
  patch: PatchRef,
  findings: string[],
  options: { signal: AbortSignal; answerRound: number; retriedIn?: string },
): Promise<{ record: StageRecord<StageAnswer>; usage: AgentUsage }> {
  const image = await store.get(patch.key);
  const imageSha256 = createHash('sha256').update(image).digest('hex');
  const patchInput = { image, imageSha256, mpp: patch.mpp, project: input.project, findings };
  try {
    if (stage === 'describe') return answered(await agents.describe(patchInput, options));
    // A failed upstream record is copied without its round and rerun: the copy asked for no answers.
    const described = await upstream<DescribeResult>(store, input.outputPrefix, 'describe', patch.id);
    if (!described.ok) return { record: { ok: false, failure: described.failure }, usage: zeroUsage };
    if (stage === 'revise') {
      return answered(
        await agents.revise(patchInput, described.description, { ...options, measurements: described.measurements }),
      );
    }
    const revised = await upstream<ReviseResult>(store, input.outputPrefix, 'revise', patch.id);
    if (!revised.ok) return { record: { ok: false, failure: revised.failure }, usage: zeroUsage };
    return answered(await agents.summarize({ imageSha256, project: input.project }, revised.revised, options));
  } catch (error) {
    const failure = patchFailure(stage, error);
    if (!failure) throw error;
    const details = (error as PathgenError).details;
    const round = options.answerRound > 0 ? { round: options.answerRound } : {};
    const rerun = options.retriedIn !== undefined ? { retriedIn: options.retriedIn } : {};
    return {
      record: { ok: false, failure, ...round, ...rerun },
      usage: (details.usage as AgentUsage | undefined) ?? zeroUsage,
    };
  }
}

function answered<T extends StageAnswer>(answer: T): { record: StageRecord<T>; usage: AgentUsage } {
  return { record: { ok: true, ...answer }, usage: answer.usage };
}

/** The previous stage's record of a patch; its absence means the workflow skipped a stage. */
async function upstream<T>(
  store: ObjectStore,
  outputPrefix: string,
  stage: PatchAgentName,
  id: string,
): Promise<StageRecord<T>> {
  const key = agentKeys.stage(outputPrefix, stage, id);
  const stored = await getIfExists(store, key);
  if (!stored) {
    throw new PathgenError('InvalidInput', `patch ${id} has no ${stage} result at ${key}: run ${stage} first`, { key });
  }
  return parseJson<StageRecord<T>>(stored, key);
}

/** Runs `work` over items with at most `limit` at once; the first error stops new items and is thrown. */
async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      signal.throwIfAborted();
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane);
  const settled = await Promise.allSettled(lanes);
  const rejected = settled.find((outcome) => outcome.status === 'rejected');
  if (rejected) throw rejected.reason;
}

function hash(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

function json(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value)}\n`);
}

function parseJson<T>(bytes: Buffer, key: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (error) {
    throw new PathgenError('InvalidInput', `${key} is not valid JSON: ${(error as Error).message}`, { key });
  }
}
