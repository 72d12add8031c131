import { runKeys } from '../activities/contracts/keys.js';
import type { RunSettings } from '../activities/contracts/run-settings.js';
import type { ManifestRow, RecordSlideInput, SlideSummary } from '../activities/contracts/slide-job.js';
import { addUsage, zeroUsage, type AgentUsage } from '../activities/contracts/usage.js';
import type { AgentActivities, AgentBatchInput, AgentBatchResult, PatchRef } from '../activities/stages/agents.js';
import type { RetryFailures } from '../activities/stages/agents.js';
import type { SelectActivities } from '../activities/stages/select.js';
import type { TileActivities } from '../activities/stages/tile.js';
import { patchTally, type PatchProgress, type SlideProgressReport } from './slide-patches.js';

// One slide's way through the pipeline, as data and one pure function: tile → findings → select →
// describe → revise → summarize (batches in parallel, up to a bound) → the slide's record. The slide
// workflow runs it with activities; bench/run.ts runs the same function with the activities called
// in process, so the benchmark's reference follows the workflow step for step. No Temporal here:
// the caller's steps decide how each call is made and how an error reads as a recorded failure.

export const slideStages = ['tile', 'findings', 'select', 'describe', 'revise', 'summarize', 'record'] as const;
export type SlideStage = (typeof slideStages)[number];

/** The three agents each batch of patches goes through, in order. */
export const agentStages = ['describe', 'revise', 'summarize'] as const;
export type AgentStage = (typeof agentStages)[number];

type InputOf<F> = F extends (input: infer I) => Promise<unknown> ? I : never;
type ResultOf<F> = F extends (input: never) => Promise<infer R> ? R : never;

/** How each step is carried out: the workflow's activity calls, or the bench's in-process ones. */
export interface SlideSteps {
  tile(input: InputOf<TileActivities['tileSlide']>, summary: string): Promise<ResultOf<TileActivities['tileSlide']>>;
  findings(
    input: InputOf<AgentActivities['extractFindings']>,
    summary: string,
  ): Promise<ResultOf<AgentActivities['extractFindings']>>;
  select(
    input: InputOf<SelectActivities['selectPatches']>,
    summary: string,
  ): Promise<ResultOf<SelectActivities['selectPatches']>>;
  agent(stage: AgentStage, input: AgentBatchInput, summary: string): Promise<AgentBatchResult>;
  record(input: RecordSlideInput): Promise<SlideSummary>;
  /** The slide enters a stage (search attributes, details). */
  entered?(stage: SlideStage): void;
  /**
   * What a failed step is recorded as; throwing here (a cancellation) ends the plan with that error.
   * `failed` hears of it before the failure is recorded.
   */
  failure(error: unknown): { reason: string; message: string };
  failed?(stage: SlideStage, reason: string): void;
  /**
   * The slide's patches moved (tiled, selected, a batch started, an agent stage of a batch ended):
   * the whole tally so far, so a caller that drops reports (the workflow sends only the latest) loses nothing.
   */
  progressed?(report: SlideProgressReport): void;
  /**
   * Ask for the report's findings while the slide tiles (they need nothing of the tile stage):
   * one round trip fewer on every slide's critical path. Off for histories recorded before.
   */
  findingsBesideTile?: boolean;
}

export interface SlidePlanInput {
  runId: string;
  row: ManifestRow;
  settings: RunSettings;
  startedAt: string;
  /** A rerun's patch failures for the agents to compute again; absent on a slide's first run. */
  retryFailures?: RetryFailures;
}

export interface SlidePlanOutcome {
  summary: SlideSummary;
  usage: AgentUsage;
  /** Stages the slide got through (for the run's per-stage progress). */
  reached: SlideStage[];
  /** Patches per stage, as far as the slide got (for the run's patch progress). */
  patches: PatchProgress;
}

export async function runSlidePlan(steps: SlideSteps, input: SlidePlanInput): Promise<SlidePlanOutcome> {
  const { runId, row, settings, startedAt } = input;
  const job = { kind: 'pipeline' as const, row };
  let usage = zeroUsage;
  const tally = patchTally(row.slideId);
  const progressed = () => steps.progressed?.(tally.report());
  const prefixes: Record<string, string> = {};
  const done: { candidates?: number; selectResultKey?: string; agentsPrefix?: string } = {};
  let stage: SlideStage = 'tile';
  const reached: SlideStage[] = [];
  const enter = (next: SlideStage) => {
    if (next !== 'tile') reached.push(...passedBefore(stage, next));
    stage = next;
    steps.entered?.(next);
  };

  try {
    enter('tile');
    const findingsSummary = `findings of ${row.slideId}'s report`;
    const early = steps.findingsBesideTile ? steps.findings(findingsInput(row), findingsSummary) : undefined;
    // Awaited in the findings stage below; if tiling fails first, its outcome is not needed.
    early?.catch(() => undefined);
    const tiled = await steps.tile(tileInput(row, settings), `tile ${row.slideId}`);
    done.candidates = tiled.candidates;
    tally.tiled(tiled.candidates);
    progressed();
    prefixes.tile = tiled.prefix;

    enter('findings');
    const findings = await (early ?? steps.findings(findingsInput(row), findingsSummary));
    usage = addUsage(usage, findings.usage);
    tally.spent(findings.usage);

    enter('select');
    const selected = await steps.select(
      {
        slideId: row.slideId,
        slide: row.slide,
        candidatesKey: tiled.keys.candidates,
        project: row.project,
        findingsKey: findings.key,
        ...(row.mppOverride !== undefined ? { mppOverride: row.mppOverride } : {}),
        selection: settings.selection,
      },
      `select from ${tiled.candidates} candidates`,
    );
    prefixes.select = selected.prefix;
    tally.selected(selected.patches.length);
    progressed();
    done.selectResultKey = selected.keys.result;
    const agentsPrefix = runKeys.agents(runId, row.slideId, selected.prefix);
    done.agentsPrefix = prefixes.agents = agentsPrefix;

    const batches = chunk(selected.patches, settings.agentBatchSize);
    const base = {
      slideId: row.slideId,
      project: row.project,
      findingsKey: findings.key,
      outputPrefix: agentsPrefix,
      ...(input.retryFailures !== undefined ? { retryFailures: input.retryFailures } : {}),
    };
    enter('describe');
    const runBatch = async (patches: PatchRef[], index: number): Promise<AgentUsage> => {
      const label = `batch ${index + 1}/${batches.length} of ${row.slideId}`;
      let spent = zeroUsage;
      tally.batchStarted();
      progressed();
      for (const agent of agentStages) {
        const batch = `${index + 1}/${batches.length}`;
        const result = await steps.agent(agent, { ...base, patches, batch }, `${agent} ${label}`);
        spent = addUsage(spent, result.usage);
        tally.stageDone(index, result);
        progressed();
      }
      return spent;
    };
    for (const spent of await inParallel(batches, settings.agentBatchesInParallel, runBatch))
      usage = addUsage(usage, spent);

    enter('record');
    const summary = await steps.record({
      runId,
      job,
      status: 'completed',
      candidates: tiled.candidates,
      selectResultKey: selected.keys.result,
      agentsPrefix,
      usage,
      prefixes,
      startedAt,
    });
    return { summary, usage, reached, patches: tally.final() };
  } catch (error) {
    const { reason, message } = steps.failure(error);
    steps.failed?.(stage, reason);
    const summary = await steps.record({
      runId,
      job,
      status: 'failed',
      reason,
      message: `${stage}: ${message}`,
      ...done,
      usage,
      prefixes,
      startedAt,
    });
    return { summary, usage, reached, patches: tally.final() };
  }
}

function tileInput(row: ManifestRow, settings: RunSettings): InputOf<TileActivities['tileSlide']> {
  return {
    slideId: row.slideId,
    slide: row.slide,
    tiling: { ...settings.tiling, ...(row.mppOverride !== undefined ? { mppOverride: row.mppOverride } : {}) },
  };
}

function findingsInput(row: ManifestRow): InputOf<AgentActivities['extractFindings']> {
  return {
    slideId: row.slideId,
    ...(row.report !== undefined ? { report: row.report } : {}),
    ...(row.reportUri !== undefined ? { reportKey: row.reportUri } : {}),
  };
}

/** The stages from `from` up to (not including) `to`: describe, revise and summarize run as one step per batch. */
function passedBefore(from: SlideStage, to: SlideStage): SlideStage[] {
  return slideStages.slice(slideStages.indexOf(from), slideStages.indexOf(to));
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `work` over items with at most `limit` at once; results in item order. */
export async function inParallel<T, R>(
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
