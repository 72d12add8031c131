import {
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RunSettings } from '../activities/contracts/run-settings.js';
import type { ManifestRow } from '../activities/contracts/slide-job.js';
import type { AgentActivities, RetryFailures } from '../activities/stages/agents.js';
import type { RunActivities } from '../activities/stages/run.js';
import type { SelectActivities } from '../activities/stages/select.js';
import type { TileActivities } from '../activities/stages/tile.js';
import {
  agentBatchActivityOptions,
  findingsActivityOptions,
  runBookkeepingOptions,
  selectActivityOptions,
  tileActivityOptions,
} from './activity-options.js';
import { PathgenRunId, PathgenSlideId, PathgenStage, PathgenStatus } from './search-attributes.js';
import { failureOf, markSlideFailed, type SlideResult } from './slide-outcome.js';
import { runSlidePlan, type SlideSteps } from './slide-plan.js';
import { progressReporter } from './slide-progress.js';

// One slide through the whole pipeline (slide-plan.ts says which steps, in which order), each step
// an activity on its queue. A slide that fails for a reason of its own (unreadable, no tissue, a
// model that kept failing) ends with a recorded outcome, never as a failed workflow: the run goes on
// and `rerunFailed` can bring it back.

export interface PathgenSlideInput {
  runId: string;
  row: ManifestRow;
  settings: RunSettings;
  /** A rerun's patch failures for the agents to compute again (AgentBatchInput.retryFailures). */
  retryFailures?: RetryFailures;
}

export async function pathgenSlide(input: PathgenSlideInput): Promise<SlideResult> {
  const { runId, row, settings, retryFailures } = input;
  const queues = settings.taskQueues;
  const { tileSlide } = proxyActivities<TileActivities>({ ...tileActivityOptions, taskQueue: queues.cpu });
  const { selectPatches } = proxyActivities<SelectActivities>(selectActivityOptions(queues.gpu));
  const { extractFindings } = proxyActivities<AgentActivities>(findingsActivityOptions(queues.agents));
  const agents = proxyActivities<AgentActivities>(agentBatchActivityOptions(queues.agents));
  const { recordSlide } = proxyActivities<RunActivities>(runBookkeepingOptions(queues.cpu));
  const agentActivity = {
    describe: agents.describePatches,
    revise: agents.revisePatches,
    summarize: agents.summarizePatches,
  };

  const steps: SlideSteps = {
    tile: (tiling, summary) => tileSlide.executeWithOptions({ summary }, [tiling]),
    findings: (report, summary) => extractFindings.executeWithOptions({ summary }, [report]),
    select: (selection, summary) => selectPatches.executeWithOptions({ summary }, [selection]),
    agent: (stage, batch, summary) => agentActivity[stage].executeWithOptions({ summary }, [batch]),
    record: recordSlide,
    entered: (stage) => {
      upsertSearchAttributes([{ key: PathgenStage, value: stage }]);
      setCurrentDetails(`slide ${row.slideId}: ${stage}`);
    },
    failure: (error) => {
      if (isCancellation(error)) throw error;
      return failureOf(error, 'ActivityFailed');
    },
    failed: (stage, reason) => {
      markSlideFailed(reason);
      setCurrentDetails(`slide ${row.slideId} failed at ${stage}: ${reason}`);
    },
  };
  // The run's `progress` shows this slide's patches while it runs (slide-progress.ts).
  const progressed = progressReporter();
  if (progressed) steps.progressed = progressed;
  steps.findingsBesideTile = patched('findings-beside-tile');

  const started = Date.now();
  upsertSearchAttributes([
    { key: PathgenRunId, value: runId },
    { key: PathgenSlideId, value: row.slideId },
    { key: PathgenStatus, value: 'running' },
    { key: PathgenStage, value: 'tile' },
  ]);
  const { summary, usage, reached, patches } = await runSlidePlan(steps, {
    runId,
    row,
    settings,
    startedAt: new Date(started).toISOString(),
    ...(retryFailures !== undefined ? { retryFailures } : {}),
  });
  if (summary.status === 'completed') upsertSearchAttributes([{ key: PathgenStatus, value: 'completed' }]);
  return { ...summary, usage, durationMs: Date.now() - started, reached, patches };
}
