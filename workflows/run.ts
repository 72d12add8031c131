import {
  ParentClosePolicy,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { workflowIds } from '../activities/contracts/keys.js';
import { jobSlide } from '../activities/contracts/slide-job.js';
import type { ExportActivities } from '../activities/stages/export.js';
import type { MaterializeActivities } from '../activities/stages/materialize.js';
import type { RunActivities } from '../activities/stages/run.js';
import { exportActivityOptions, materializeActivityOptions, runBookkeepingOptions } from './activity-options.js';
import { runExportInput } from './export.js';
import { awaitExportApproval, installReviewGateHandler } from './run-review-gate.js';
import { pathgenMaterializeSlide } from './materialize-slide.js';
import { installRunHandlers } from './run-handlers.js';
import { readNextJobs } from './run-jobs.js';
import { countSlideResult, type LiveSlides, type RunProgress } from './run-progress.js';
import { takeBackCounted } from './run-rerun.js';
import { startState, type PathgenRunInput, type PendingSlide, type RunState } from './run-state.js';
import { PathgenRunId, PathgenStatus } from './search-attributes.js';
import { pathgenSlide } from './slide.js';
import { failureOf, recordFailedSlide, type SlideResult } from './slide-outcome.js';

// A cohort run: a sliding window of slide workflows over a manifest read page by page, progress as
// a query and in search attributes, pause/resume/setConcurrency/rerunFailed as updates
// (run-handlers.ts), continue-as-new before the history grows large (carrying progress and the
// manifest cursor, run-state.ts), then the export. Everything large (rows, records, errors) stays in
// the store; this workflow holds counts and cursors.

export type { PathgenRunInput } from './run-state.js';
export { approveExportUpdate } from './run-review-gate.js';
export { progressQuery, pauseUpdate, resumeUpdate, setConcurrencyUpdate, rerunFailedUpdate } from './run-handlers.js';

/** History length above which a run moves to a fresh execution before its export and end. */
const finalExecutionEvents = 1000;

export interface RunResult {
  runId: string;
  progress: RunProgress;
}

export async function pathgenRun(input: PathgenRunInput): Promise<RunResult> {
  const { runId } = input;
  const bootstrap = proxyActivities<RunActivities>(runBookkeepingOptions(workflowInfo().taskQueue));
  let current: RunState | undefined = input.state;
  let inFlight = 0;
  // The running slides' latest reports (slideProgress signals); empty at continue-as-new, which waits for them.
  const live: LiveSlides = {};
  const snapshot = installRunHandlers(runId, { state: () => current, running: () => inFlight, live: () => live });
  installReviewGateHandler({ state: () => current }, snapshot);

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
  const finished = (result: SlideResult, pending: PendingSlide) => {
    inFlight -= 1;
    // The slide's final numbers replace its live ones.
    delete live[jobSlide(pending.job).slideId];
    takeBackCounted(progress, pending.previous);
    countSlideResult(progress, result, pending.previousFailure);
  };
  /** A slide workflow that failed outright (terminated, timed out) still gets a record, so it can be rerun. */
  const slideWorkflowFailed = (pending: PendingSlide, error: unknown): Promise<SlideResult> =>
    recordFailedSlide(recordSlide, {
      runId,
      job: pending.job,
      ...failureOf(error, 'SlideWorkflowFailed'),
      startedAtMs: Date.now(),
      durationMs: 0,
    });
  const startSlide = async (pending: PendingSlide) => {
    inFlight += 1;
    const slideId = jobSlide(pending.job).slideId;
    live[slideId] = {};
    const done = (result: SlideResult) => finished(result, pending);
    try {
      const handle = await startSlideWorkflow(runId, pending, state);
      // From now on only this execution's reports count.
      const entry = live[slideId];
      if (entry) entry.slideRunId = handle.firstExecutionRunId;
      void handle.result().then(done, async (error: unknown) => done(await slideWorkflowFailed(pending, error)));
    } catch (error) {
      done(await slideWorkflowFailed(pending, error));
    }
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
      if (await readNextJobs(state, input, { listFailedSlides, readManifestPage, readMaterializeSlides })) continue;
      await condition(() => inFlight === 0 || state.rerun !== undefined);
      if (state.rerun !== undefined) continue;
      // A finished run is queried by replaying its last execution: end in a short one, so
      // `progress` on a finished run of thousands of slides answers in milliseconds, not seconds.
      if (workflowInfo().historyLength > finalExecutionEvents && patched('short-final-execution')) {
        progress.continuedAsNew += 1;
        await continueAsNew<typeof pathgenRun>({ ...input, state: { ...state, progress } });
      }
      if (settings.export.enabled) {
        if (!(await awaitExportApproval(state))) continue;
        await exportRunAtEnd(runId, state, exportRun);
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
    await startSlide(state.pending.shift()!);
    setCurrentDetails(
      `run ${runId}: ${progress.completed} done, ${progress.failed} failed, ${inFlight} running of ${progress.total}`,
    );
  }
}

/** The child workflow for one slide: the pipeline, or materialize mode's crops. */
function startSlideWorkflow(runId: string, { job, retryFailures }: PendingSlide, state: RunState) {
  const { settings } = state.prepared;
  const slideId = jobSlide(job).slideId;
  const options = {
    workflowId: workflowIds.slide(runId, slideId),
    taskQueue: settings.taskQueues.cpu,
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
  };
  return job.kind === 'pipeline'
    ? startChild(pathgenSlide, {
        ...options,
        args: [{ runId, row: job.row, settings, ...(retryFailures !== undefined ? { retryFailures } : {}) }],
        staticSummary: `slide ${slideId} (${job.row.project})`,
      })
    : startChild(pathgenMaterializeSlide, {
        ...options,
        args: [{ runId, slide: job.slide, settings }],
        staticSummary: `materialize ${slideId} (${job.slide.patches} positions)`,
      });
}

async function exportRunAtEnd(runId: string, state: RunState, exportRun: ExportActivities['exportRun']) {
  const { progress } = state;
  progress.phase = 'exporting';
  setCurrentDetails(`run ${runId}: exporting`);
  const exported = await exportRun(runExportInput(runId, state.prepared.settings.export, new Date()));
  progress.export = {
    version: exported.version,
    samples: exported.samples,
    shards: exported.shards,
    pointerKey: exported.pointerKey,
    ...(exported.urlPattern ? { urlPattern: exported.urlPattern } : {}),
  };
  progress.stages.export = { done: 1, total: 1 };
}
