import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { PathgenError } from '../../activities/common/errors.js';
import { workflowIds } from '../../activities/contracts/keys.js';
import { progressQuery } from '../../workflows/run-handlers.js';
import type { RunProgress } from '../../workflows/run-progress.js';
import { approveExportUpdate } from '../../workflows/run-review-gate.js';
import { PathgenRunId, PathgenSlideId, PathgenStage, PathgenStatus } from '../../workflows/search-attributes.js';

// What Temporal adds to the store's view, when it answers: the run workflow's status, and the slides
// still running (they have no record in the store until they end), from visibility. The app works
// without it: every call has a short deadline and a failure reads as "Temporal unreachable".

export interface RunStatus {
  /** The run workflow's execution status (RUNNING, COMPLETED, …) and its PathgenStatus attribute. */
  status: string;
}

export interface RunningSlide {
  slideId: string;
  stage?: string;
}

/** A running run's review gate, from its progress query. */
export interface RunGate {
  phase: RunProgress['phase'];
  samplesPerSlide: number;
  maxFlagRate: number;
  status: string;
  approvedBy?: string;
}

export interface ReviewTemporal {
  runStatus(runId: string): Promise<RunStatus | undefined>;
  runningSlides(runId: string, limit: number): Promise<RunningSlide[]>;
  /** The gate of a running run that has one; undefined otherwise or when Temporal does not answer. */
  runGate(runId: string): Promise<RunGate | undefined>;
  /**
   * Sends approveExport and returns the gate's words. A refusal (the review is incomplete, the run
   * is not waiting) is a `ReviewIncomplete` PathgenError with the workflow's reason.
   */
  approveExport(runId: string, by: string): Promise<string>;
}

const deadlineMs = 3000;
/** The update runs an activity (the gate's count over the store): give it longer than a query. */
const approveDeadlineMs = 60_000;

async function withDeadline<T>(work: Promise<T>, ms = deadlineMs): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Temporal did not answer in time')), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Run ids become a visibility query: allow only the characters run ids are made of. */
const quoted = (value: string): string => `'${value.replace(/[^A-Za-z0-9._-]/g, '')}'`;

export function temporalRunStatus(client: Client): ReviewTemporal {
  return {
    async runStatus(runId) {
      try {
        const description = await withDeadline(client.workflow.getHandle(workflowIds.run(runId)).describe());
        const attribute = description.typedSearchAttributes.get(PathgenStatus);
        return { status: attribute ? `${description.status.name} (${attribute})` : description.status.name };
      } catch {
        return undefined;
      }
    },
    async runningSlides(runId, limit) {
      const query =
        `${PathgenRunId.name} = ${quoted(runId)} AND WorkflowType = 'pathgenSlide' ` +
        `AND ExecutionStatus = 'Running'`;
      const slides: RunningSlide[] = [];
      try {
        await withDeadline(
          (async () => {
            for await (const execution of client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
              const slideId = execution.typedSearchAttributes.get(PathgenSlideId);
              if (slideId) slides.push({ slideId, stage: execution.typedSearchAttributes.get(PathgenStage) });
              if (slides.length >= limit) break;
            }
          })(),
        );
      } catch {
        return slides;
      }
      return slides;
    },
    async runGate(runId) {
      try {
        const handle = client.workflow.getHandle(workflowIds.run(runId));
        // A query needs a worker to answer it: ask only a run that is still running.
        if ((await withDeadline(handle.describe())).status.name !== 'RUNNING') return undefined;
        const progress = await withDeadline(handle.query(progressQuery));
        return progress.review ? { phase: progress.phase, ...progress.review } : undefined;
      } catch {
        return undefined;
      }
    },
    async approveExport(runId, by) {
      const handle = client.workflow.getHandle(workflowIds.run(runId));
      try {
        const progress = await withDeadline(
          handle.executeUpdate(approveExportUpdate, { args: [{ by }] }),
          approveDeadlineMs,
        );
        return progress.review?.status ?? 'approved';
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError) {
          const reason = error.cause?.message ?? error.message;
          throw new PathgenError('ReviewIncomplete', reason, { runId });
        }
        if (error instanceof WorkflowNotFoundError) {
          throw new PathgenError('RunNotFound', `Temporal has no run workflow ${workflowIds.run(runId)}`, { runId });
        }
        throw new PathgenError(
          'TemporalUnavailable',
          `Temporal did not take the approval: ${(error as Error).message}`,
          {
            runId,
          },
        );
      }
    },
  };
}
