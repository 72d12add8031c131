import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { AgentActivities, AgentBatchInput, AgentBatchResult, PatchRef } from '../activities/stages/agents.js';
import type { AgentUsage } from '../activities/agents/index.js';
import type { ManifestRow } from '../activities/manifest/index.js';
import type { SlideSummary } from '../activities/contracts/slide-job.js';
import type { RunActivities } from '../activities/stages/run.js';
import type { RunSettings } from '../activities/contracts/run-settings.js';
import type { SelectActivities } from '../activities/stages/select.js';
import type { TileActivities } from '../activities/stages/tile.js';
import {
  agentBatchActivityOptions,
  findingsActivityOptions,
  runBookkeepingOptions,
  selectActivityOptions,
  tileActivityOptions,
} from './activity-options.js';
import { addUsage, zeroUsage } from '../activities/contracts/usage.js';
import {
  PathgenFailureReason,
  PathgenRunId,
  PathgenSlideId,
  PathgenStage,
  PathgenStatus,
} from './search-attributes.js';

// One slide through the whole pipeline: tile → findings → select → describe → revise → summarize
// (batches in parallel, up to a bound) → the slide's record. A slide that fails for a reason of its
// own (unreadable, no tissue, a model that kept failing) ends with a recorded outcome, never as a
// failed workflow: the run goes on and `rerunFailed` can bring it back.

export interface PathgenSlideInput {
  runId: string;
  row: ManifestRow;
  settings: RunSettings;
}

export interface SlideResult extends SlideSummary {
  usage: AgentUsage;
  durationMs: number;
  /** Stages the slide got through (for the run's per-stage progress). */
  reached: SlideStage[];
}

export const slideStages = ['tile', 'findings', 'select', 'describe', 'revise', 'summarize', 'record'] as const;
export type SlideStage = (typeof slideStages)[number];

export function slideWorkflowId(runId: string, slideId: string): string {
  return `pathgen-slide-${runId}-${slideId}`;
}

export async function pathgenSlide(input: PathgenSlideInput): Promise<SlideResult> {
  const { runId, row, settings } = input;
  const queues = settings.taskQueues;
  const { tileSlide } = proxyActivities<TileActivities>({ ...tileActivityOptions, taskQueue: queues.cpu });
  const { selectPatches } = proxyActivities<SelectActivities>(selectActivityOptions(queues.gpu));
  const { extractFindings } = proxyActivities<AgentActivities>(findingsActivityOptions(queues.agents));
  const agents = proxyActivities<AgentActivities>(agentBatchActivityOptions(queues.agents));
  const { recordSlide } = proxyActivities<RunActivities>(runBookkeepingOptions(queues.cpu));

  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  let usage = zeroUsage;
  const prefixes: Record<string, string> = {};
  let stage: SlideStage = 'tile';
  const reached: SlideStage[] = [];
  const enter = (next: SlideStage) => {
    if (next !== 'tile') reached.push(...passedBefore(stage, next));
    stage = next;
    upsertSearchAttributes([{ key: PathgenStage, value: next }]);
    setCurrentDetails(`slide ${row.slideId}: ${next}`);
  };
  upsertSearchAttributes([
    { key: PathgenRunId, value: runId },
    { key: PathgenSlideId, value: row.slideId },
    { key: PathgenStatus, value: 'running' },
    { key: PathgenStage, value: 'tile' },
  ]);

  let candidates: number | undefined;
  let selectResultKey: string | undefined;
  let agentsPrefix: string | undefined;
  try {
    enter('tile');
    const tiled = await tileSlide.executeWithOptions({ summary: `tile ${row.slideId}` }, [
      {
        slideId: row.slideId,
        slide: row.slide,
        tiling: { ...settings.tiling, ...(row.mppOverride !== undefined ? { mppOverride: row.mppOverride } : {}) },
      },
    ]);
    candidates = tiled.candidates;
    prefixes.tile = tiled.prefix;

    enter('findings');
    const findings = await extractFindings.executeWithOptions({ summary: `findings of ${row.slideId}'s report` }, [
      {
        slideId: row.slideId,
        ...(row.report !== undefined ? { report: row.report } : {}),
        ...(row.reportUri !== undefined ? { reportKey: row.reportUri } : {}),
      },
    ]);
    usage = addUsage(usage, findings.usage);

    enter('select');
    const selected = await selectPatches.executeWithOptions({ summary: `select from ${tiled.candidates} candidates` }, [
      {
        slideId: row.slideId,
        slide: row.slide,
        candidatesKey: tiled.keys.candidates,
        project: row.project,
        findingsKey: findings.key,
        ...(row.mppOverride !== undefined ? { mppOverride: row.mppOverride } : {}),
        selection: settings.selection,
      },
    ]);
    prefixes.select = selected.prefix;
    selectResultKey = selected.keys.result;
    agentsPrefix = `runs/${runId}/agents/${row.slideId}/${selected.prefix.split('/').pop() ?? 'selection'}`;
    prefixes.agents = agentsPrefix;

    const batches = chunk(selected.patches, settings.agentBatchSize);
    const base = { slideId: row.slideId, project: row.project, findingsKey: findings.key, outputPrefix: agentsPrefix };
    enter('describe');
    const runBatch = async (patches: PatchRef[], index: number): Promise<AgentUsage> => {
      const batch: AgentBatchInput = { ...base, patches };
      const label = `batch ${index + 1}/${batches.length} of ${row.slideId}`;
      let spent = zeroUsage;
      for (const [name, run] of [
        ['describe', agents.describePatches],
        ['revise', agents.revisePatches],
        ['summarize', agents.summarizePatches],
      ] as const) {
        const result: AgentBatchResult = await run.executeWithOptions({ summary: `${name} ${label}` }, [batch]);
        spent = addUsage(spent, result.usage);
      }
      return spent;
    };
    for (const spent of await inParallel(batches, settings.agentBatchesInParallel, runBatch))
      usage = addUsage(usage, spent);

    enter('record');
    const summary = await recordSlide({
      runId,
      job: { kind: 'pipeline', row },
      status: 'completed',
      candidates,
      selectResultKey,
      agentsPrefix,
      usage,
      prefixes,
      startedAt,
    });
    upsertSearchAttributes([{ key: PathgenStatus, value: 'completed' }]);
    return { ...summary, usage, durationMs: Date.now() - started, reached };
  } catch (error) {
    if (isCancellation(error)) throw error;
    const { reason, message } = slideFailure(error);
    upsertSearchAttributes([
      { key: PathgenStatus, value: 'failed' },
      { key: PathgenFailureReason, value: reason },
    ]);
    setCurrentDetails(`slide ${row.slideId} failed at ${stage}: ${reason}`);
    const summary = await recordSlide({
      runId,
      job: { kind: 'pipeline', row },
      status: 'failed',
      reason,
      message: `${stage}: ${message}`,
      ...(candidates !== undefined ? { candidates } : {}),
      ...(selectResultKey ? { selectResultKey } : {}),
      ...(agentsPrefix ? { agentsPrefix } : {}),
      usage,
      prefixes,
      startedAt,
    });
    return { ...summary, usage, durationMs: Date.now() - started, reached };
  }
}

/** The stages from `from` up to (not including) `to`: describe, revise and summarize run as one step per batch. */
function passedBefore(from: SlideStage, to: SlideStage): SlideStage[] {
  return slideStages.slice(slideStages.indexOf(from), slideStages.indexOf(to));
}

/** The failure type an activity ended with (its error code), or what Temporal says went wrong. */
function slideFailure(error: unknown): { reason: string; message: string } {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { reason: cause.type ?? 'ActivityFailed', message: cause.message };
  if (cause instanceof Error)
    return { reason: cause.name === 'TimeoutFailure' ? 'Timeout' : 'ActivityFailed', message: cause.message };
  return { reason: 'ActivityFailed', message: String(cause) };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `work` over items with at most `limit` at once; results in item order. */
async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}
