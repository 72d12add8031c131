import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { workflowIds } from '../activities/contracts/keys.js';
import { listSlideRecords } from '../activities/export/run-samples.js';
import type { ExportRunResult } from '../activities/stages/export.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import type { pathgenExport } from '../workflows/export.js';
import { ExitError, exitCodes } from './commands/exit-status.js';
import type { PathgenConfig } from './config/schema.js';
import { runWorkers } from './run-workers.js';
import { temporalConnectionOptions } from './temporal-connection.js';

// `pathgen review apply`: a re-export of a run that honours its reviews, through the pathgenExport
// workflow on the configured cpu queue, so it is the same durable, resumable export the run does
// (a new version; the previous one stays readable until the pointer moves). The command waits for
// the result. With `worker`, this process hosts the cpu queue's worker meanwhile (after
// `pathgen demo`, nothing else polls); without it, a queue that no worker polls is reported instead
// of waiting forever: at once when the server knows no poller, else when no worker has taken the
// workflow's first task within `pickupSeconds` (the server lists a stopped worker's pollers for
// minutes, so the listing alone cannot tell), and the unstarted export is terminated.

export interface ApplyReviewsOptions {
  config: PathgenConfig;
  store: ObjectStore;
  runId: string;
  worker: boolean;
  /** How long a started export may wait for a worker to take it (default 30). */
  pickupSeconds?: number;
}

export async function applyReviews(options: ApplyReviewsOptions): Promise<ExportRunResult> {
  const { config, store, runId } = options;
  if ((await listSlideRecords(store, runId)).length === 0) {
    throw new ExitError(exitCodes.badInput, `pathgen review apply: run ${runId} has no slide records in the store`);
  }
  let stopWorker: (() => void) | undefined;
  const worker = options.worker
    ? runWorkers({ config, roles: ['cpu'], store, until: new Promise<void>((resolve) => (stopWorker = resolve)) })
    : undefined;
  // A worker that fails to start ends the wait too.
  const workerFailed = worker?.then(() => undefined as never);
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const taskQueue = config.taskQueues.cpu;
    if (!worker) await assertPolled(client, config.temporal.namespace, taskQueue);
    const handle = await client.workflow.start<typeof pathgenExport>('pathgenExport', {
      taskQueue,
      workflowId: workflowIds.reviewExport(runId, randomUUID().slice(0, 8)),
      args: [{ runId }],
    });
    if (workerFailed) return await Promise.race([handle.result(), workerFailed]);
    await awaitPickup(handle, taskQueue, options.pickupSeconds ?? 30);
    return await handle.result();
  } finally {
    await connection.close();
    stopWorker?.();
    await worker;
  }
}

/** Waits until a worker has run the workflow's first task; terminates it and fails if none does in time. */
async function awaitPickup(handle: WorkflowHandle, taskQueue: string, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const described = await handle.describe();
    // Started and its first task scheduled are the two events before any worker acts.
    if (described.status.name !== 'RUNNING' || described.historyLength > 2) return;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await handle.terminate(`no worker took the export from task queue ${taskQueue} in ${seconds} s`);
  throw new ExitError(
    exitCodes.failed,
    `pathgen review apply: no worker took the export from task queue ${taskQueue} in ${seconds} s: start \`pathgen worker --queues cpu\`, or pass --worker`,
  );
}

async function assertPolled(client: Client, namespace: string, taskQueue: string): Promise<void> {
  const described = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    // TASK_QUEUE_TYPE_WORKFLOW: the pollers that would run pathgenExport's workflow tasks.
    taskQueueType: 1,
  });
  if ((described.pollers ?? []).length === 0) {
    throw new ExitError(
      exitCodes.failed,
      `pathgen review apply: no worker polls task queue ${taskQueue}: start \`pathgen worker --queues cpu\`, or pass --worker`,
    );
  }
}
