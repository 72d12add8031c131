import {
  ApplicationFailure,
  ParentClosePolicy,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ExportActivities } from '../activities/stages/export.js';
import type { ManifestCursor } from '../activities/manifest/index.js';
import type { MaterializeActivities } from '../activities/stages/materialize.js';
import type { SlideJob } from '../activities/contracts/slide-job.js';
import type { ManifestRef, PrepareRunResult, RunActivities } from '../activities/stages/run.js';
import type { RunSettingsOverrides } from '../activities/contracts/run-settings.js';
import { exportActivityOptions, materializeActivityOptions, runBookkeepingOptions } from './activity-options.js';
import { runExportInput } from './export.js';
import { pathgenMaterializeSlide } from './materialize-slide.js';
import { addUsage, zeroUsage } from '../activities/contracts/usage.js';
import { addCount, emptyProgress } from './run-progress.js';
import type { RunProgress } from './run-progress.js';
import { PathgenRunId, PathgenStatus } from './search-attributes.js';
import { pathgenSlide, slideStages, slideWorkflowId } from './slide.js';
import type { SlideResult } from './slide.js';

// A cohort run: a sliding window of slide workflows over a manifest read page by page, progress as
// a query and in search attributes, pause/resume/setConcurrency/rerunFailed as updates, continue-as-
// new before the history grows large (carrying progress and the manifest cursor), then the export.
// Everything large (rows, records, errors) stays in the store; this workflow holds counts and cursors.

export interface PathgenRunInput {
  runId: string;
  /** The slides to run the PathGen pipeline on (absent in materialize mode). */
  manifest?: ManifestRef;
  /**
   * Materialize mode: rebuild a dataset in PathGen-1.6M's released format from the lab's own slides
   * (crops at the listed positions with the listed captions; no selection, no agents).
   */
  materialize?: { pathgenJson: string; lookup: string };
  settings?: RunSettingsOverrides;
  /** Start this execution by rerunning the failed slides of an earlier, finished execution of the run. */
  rerunFailed?: { reason?: string };
  /** Carried over continue-as-new; never set by people. */
  state?: RunState;
}

export interface RunResult {
  runId: string;
  progress: RunProgress;
}

interface RunState {
  prepared: PrepareRunResult;
  progress: RunProgress;
  cursor?: ManifestCursor;
  manifestDone: boolean;
  /**
   * A scan of failed slide records to rerun, and where it is. `counted`: the failures being rerun
   * are in this progress already (an update), not from an earlier execution (a rerun start).
   */
  rerun?: { reason?: string; startAfter?: string; counted: boolean };
  pending: { job: SlideJob; previousFailure?: string }[];
  /** Materialize mode: record errors of the PathGen JSON, for the dataset card. */
  materializeErrors?: Record<string, number>;
  startedAtMs: number;
  maxInFlight: number;
  paused: boolean;
}

export const progressQuery = defineQuery<RunProgress>('progress');
export const pauseUpdate = defineUpdate<RunProgress>('pause');
export const resumeUpdate = defineUpdate<RunProgress>('resume');
export const setConcurrencyUpdate = defineUpdate<RunProgress, [number]>('setConcurrency');
export const rerunFailedUpdate = defineUpdate<RunProgress, [{ reason?: string }?]>('rerunFailed');

function jobSlideId(job: SlideJob): string {
  return job.kind === 'pipeline' ? job.row.slideId : job.slide.slideId;
}

export function runWorkflowId(runId: string): string {
  return `pathgen-run-${runId}`;
}

export async function pathgenRun(input: PathgenRunInput): Promise<RunResult> {
  const { runId } = input;
  const bootstrap = proxyActivities<RunActivities>(runBookkeepingOptions(workflowInfo().taskQueue));
  // Handlers first: a query or update that arrives while the run prepares must find them.
  let current: RunState | undefined = input.state;
  let inFlight = 0;
  const snapshot = (): RunProgress => {
    if (!current) return emptyProgress(runId, 0);
    const { progress } = current;
    return {
      ...progress,
      stages: Object.fromEntries(
        Object.entries(progress.stages).map(([stage, bar]) => [
          stage,
          (slideStages as readonly string[]).includes(stage) ? { done: bar.done, total: progress.total } : bar,
        ]),
      ),
      running: inFlight,
      paused: current.paused,
      maxInFlight: current.maxInFlight,
      ...eta(progress, current.startedAtMs),
    };
  };
  /** Updates wait for the run to be prepared, then act on its state. */
  const prepared = async (): Promise<RunState> => {
    await condition(() => current !== undefined);
    return current!;
  };
  setHandler(progressQuery, snapshot);
  setHandler(pauseUpdate, async () => {
    (await prepared()).paused = true;
    return snapshot();
  });
  setHandler(resumeUpdate, async () => {
    (await prepared()).paused = false;
    return snapshot();
  });
  setHandler(
    setConcurrencyUpdate,
    async (limit) => {
      (await prepared()).maxInFlight = limit;
      return snapshot();
    },
    {
      validator: (limit) => {
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
          throw new Error('concurrency must be an integer from 1 to 10000');
      },
    },
  );
  setHandler(rerunFailedUpdate, async (options) => {
    const ready = await prepared();
    ready.rerun = { ...(options?.reason !== undefined ? { reason: options.reason } : {}), counted: true };
    ready.progress.phase = 'running';
    return snapshot();
  });

  const state: RunState = current ?? (await startState(input, bootstrap));
  current = state;
  const { settings } = state.prepared;
  const { readManifestPage, listFailedSlides, recordSlide } = proxyActivities<RunActivities>(
    runBookkeepingOptions(settings.taskQueues.cpu),
  );
  const { exportRun } = proxyActivities<ExportActivities>(exportActivityOptions(settings.taskQueues.cpu));
  const { readMaterializeSlides } = proxyActivities<MaterializeActivities>(
    materializeActivityOptions(settings.taskQueues.cpu),
  );
  const progress = state.progress;
  upsertSearchAttributes([
    { key: PathgenRunId, value: runId },
    { key: PathgenStatus, value: 'running' },
  ]);

  const tooLong = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > settings.historyEventBudget;
  const finished = (result: SlideResult, previousFailure: string | undefined) => {
    inFlight -= 1;
    // A rerun slide's earlier failure leaves the count (when this execution counted it).
    if (previousFailure !== undefined && (progress.failuresByReason[previousFailure] ?? 0) > 0) {
      progress.failed -= 1;
      addCount(progress.failuresByReason, previousFailure, -1);
    }
    if (result.status === 'completed') progress.completed += 1;
    else {
      progress.failed += 1;
      addCount(progress.failuresByReason, result.reason ?? 'Unknown');
    }
    const counts = result.counts;
    for (const stage of result.reached) {
      const bar = (progress.stages[stage] ??= { done: 0, total: progress.total });
      bar.done += 1;
    }
    if (counts.selected !== undefined) progress.stages.captions!.total += counts.selected;
    progress.stages.captions!.done += counts.captioned ?? 0;
    progress.captions += counts.captioned ?? 0;
    for (const [code, count] of Object.entries(result.failures)) addCount(progress.patchFailuresByReason, code, count);
    progress.usage = addUsage(progress.usage, result.usage);
  };

  const startSlide = async ({ job, previousFailure }: { job: SlideJob; previousFailure?: string }) => {
    inFlight += 1;
    const slideId = jobSlideId(job);
    const options = {
      workflowId: slideWorkflowId(runId, slideId),
      taskQueue: settings.taskQueues.cpu,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    };
    try {
      const handle =
        job.kind === 'pipeline'
          ? await startChild(pathgenSlide, {
              ...options,
              args: [{ runId, row: job.row, settings }],
              staticSummary: `slide ${slideId} (${job.row.project})`,
            })
          : await startChild(pathgenMaterializeSlide, {
              ...options,
              args: [{ runId, slide: job.slide, settings }],
              staticSummary: `materialize ${slideId} (${job.slide.patches} positions)`,
            });
      void handle.result().then(
        (result) => finished(result, previousFailure),
        async (error: unknown) => finished(await slideWorkflowFailed(job, error), previousFailure),
      );
    } catch (error) {
      finished(await slideWorkflowFailed(job, error), previousFailure);
    }
  };

  /** A slide workflow that failed outright (terminated, timed out) still gets a record, so it can be rerun. */
  const slideWorkflowFailed = async (job: SlideJob, error: unknown): Promise<SlideResult> => {
    const reason = error instanceof ApplicationFailure && error.type ? error.type : 'SlideWorkflowFailed';
    const summary = await recordSlide({
      runId,
      job,
      status: 'failed',
      reason,
      message: error instanceof Error ? error.message : String(error),
      usage: zeroUsage,
      prefixes: {},
      startedAt: new Date().toISOString(),
    });
    return { ...summary, usage: zeroUsage, durationMs: 0, reached: [] };
  };

  progress.phase = 'running';
  for (;;) {
    if (tooLong()) {
      // Stop starting slides, let the in-flight ones finish (children must not outlive this run's history), then move on.
      await condition(() => inFlight === 0);
      progress.continuedAsNew += 1;
      await continueAsNew<typeof pathgenRun>({ ...input, state: { ...state, progress } });
    }
    if (state.pending.length === 0) {
      if (state.rerun) {
        const page = await listFailedSlides({
          runId,
          ...(state.rerun.reason !== undefined ? { reason: state.rerun.reason } : {}),
          ...(state.rerun.startAfter !== undefined ? { startAfter: state.rerun.startAfter } : {}),
          limit: settings.manifestPageSize,
        });
        const counted = state.rerun.counted;
        for (const failed of page.slides) {
          if (!counted) progress.total += 1;
          state.pending.push({ job: failed.job, ...(counted ? { previousFailure: failed.reason } : {}) });
        }
        state.rerun = page.next !== undefined ? { ...state.rerun, startAfter: page.next } : undefined;
        continue;
      }
      if (!state.manifestDone && input.materialize) {
        const page = await readMaterializeSlides({
          runId,
          ...(state.cursor ? { cursor: state.cursor } : {}),
          limit: settings.manifestPageSize,
        });
        state.pending.push(...page.slides.map((slide) => ({ job: { kind: 'materialize' as const, slide } })));
        if (page.next) state.cursor = page.next;
        else state.manifestDone = true;
        continue;
      }
      if (!state.manifestDone && input.manifest) {
        const page = await readManifestPage({
          runId,
          manifest: input.manifest,
          ...(state.cursor ? { cursor: state.cursor } : {}),
          limit: settings.manifestPageSize,
        });
        state.pending.push(...page.rows.map((row) => ({ job: { kind: 'pipeline' as const, row } })));
        if (page.next) state.cursor = page.next;
        else state.manifestDone = true;
        continue;
      }
      await condition(() => inFlight === 0 || state.rerun !== undefined);
      if (state.rerun !== undefined) continue;
      if (settings.export.enabled) {
        progress.phase = 'exporting';
        setCurrentDetails(`run ${runId}: exporting`);
        const exported = await exportRun(runExportInput(runId, settings.export, new Date()));
        progress.export = {
          version: exported.version,
          samples: exported.samples,
          shards: exported.shards,
          pointerKey: exported.pointerKey,
          ...(exported.urlPattern ? { urlPattern: exported.urlPattern } : {}),
        };
        progress.stages.export = { done: 1, total: 1 };
      }
      progress.phase = 'done';
      // An update that arrived during the export asks for another round; otherwise the run is done.
      if (state.rerun !== undefined) continue;
      upsertSearchAttributes([
        { key: PathgenStatus, value: progress.failed > 0 ? 'completed-with-failures' : 'completed' },
      ]);
      setCurrentDetails(`run ${runId}: ${progress.completed} slides completed, ${progress.failed} failed`);
      return { runId, progress: snapshot() };
    }
    await condition(() => (!state.paused && inFlight < state.maxInFlight) || tooLong());
    if (tooLong()) continue;
    const job = state.pending.shift()!;
    await startSlide(job);
    setCurrentDetails(
      `run ${runId}: ${progress.completed} done, ${progress.failed} failed, ${inFlight} running of ${progress.total}`,
    );
  }
}

async function startState(input: PathgenRunInput, bootstrap: RunActivities): Promise<RunState> {
  const rerun = input.rerunFailed !== undefined;
  if (!input.manifest === !input.materialize) {
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      message: 'a run takes either a manifest or materialize: {pathgenJson, lookup}',
      nonRetryable: true,
    });
  }
  const prepared = await bootstrap.prepareRun({
    runId: input.runId,
    ...(rerun || !input.manifest ? {} : { manifest: input.manifest }),
    ...(input.settings ? { settings: input.settings } : {}),
  });
  const progress = emptyProgress(input.runId, prepared.settings.maxInFlight);
  let materializeErrors: Record<string, number> | undefined;
  if (input.materialize) {
    const { groupMaterializeInput } = proxyActivities<MaterializeActivities>(
      materializeActivityOptions(prepared.settings.taskQueues.cpu),
    );
    const grouped = await groupMaterializeInput({ runId: input.runId, ...input.materialize });
    materializeErrors = Object.fromEntries(Object.entries(grouped.errorCounts).filter(([, count]) => count > 0));
    progress.patchFailuresByReason = { ...materializeErrors };
    if (!rerun) progress.total = grouped.slides;
  } else if (!rerun) {
    progress.total = prepared.rows;
    progress.failed = prepared.badRows;
    if (prepared.badRows > 0) progress.failuresByReason.InvalidManifestRow = prepared.badRows;
    progress.manifestErrors = prepared.firstErrors;
  }
  for (const stage of slideStages.slice(0, -1)) progress.stages[stage] = { done: 0, total: progress.total };
  return {
    prepared,
    progress,
    manifestDone: rerun,
    ...(rerun
      ? {
          rerun: {
            ...(input.rerunFailed?.reason !== undefined ? { reason: input.rerunFailed.reason } : {}),
            counted: false,
          },
        }
      : {}),
    pending: [],
    ...(materializeErrors ? { materializeErrors } : {}),
    startedAtMs: Date.now(),
    maxInFlight: prepared.settings.maxInFlight,
    paused: false,
  };
}

function eta(progress: RunProgress, startedAtMs: number): { etaSeconds?: number } {
  const done = progress.completed + progress.failed;
  const remaining = progress.total - done;
  if (done === 0 || remaining <= 0) return {};
  const elapsed = (Date.now() - startedAtMs) / 1000;
  return { etaSeconds: Math.round((elapsed / done) * remaining) };
}
