import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/stages/index.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import type { QueueRole } from '../activities/contracts/task-queues.js';
import type { PathgenConfig } from './config/schema.js';
import { workerActivityDeps } from './activity-deps.js';
import { openClipAtStart } from './configured-clip.js';
import { workflowCodeOption } from './workflow-bundle.js';
import { temporalConnectionOptions } from './temporal-connection.js';

export interface RunWorkersOptions {
  config: PathgenConfig;
  roles: readonly QueueRole[];
  store: ObjectStore;
  /** Called once every worker polls, e.g. to print "ready"; `clip` says where a GPU worker's CLIP runs. */
  onReady?: (queues: string[], clip: string | undefined) => void;
  /** Resolves when the workers should stop; SIGINT/SIGTERM also stop them (the SDK's runtime handles both). */
  until?: Promise<unknown>;
  /** Builds each queue's activities from the worker's deps instead of createActivities (the scale benchmark's doubles). */
  activities?: (deps: ActivityDeps) => Promise<ReturnType<typeof createActivities>>;
}

/**
 * Hosts the workers for the chosen queues in this process: the `cpu` role also hosts the
 * workflows. Returns after a clean shutdown: polling stopped, in-flight activities finished or,
 * after the grace time, cancelled (Temporal then retries them on another worker).
 */
export async function runWorkers(options: RunWorkersOptions): Promise<void> {
  const { config, roles, store } = options;
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  try {
    const warn = (message: string): void => {
      Runtime.instance().logger.warn(message);
    };
    const activitiesDeps = await workerActivityDeps(config, store, warn);
    const activities = await (options.activities?.(activitiesDeps) ?? createActivities(activitiesDeps));
    const workflowCode = roles.includes('cpu') ? await workflowCodeOption(warn) : undefined;
    // A worker for the agents queue with unusable agent settings (no key, no model) fails now, not per patch.
    if (roles.includes('agents')) await activitiesDeps.agents();
    // Likewise a GPU worker whose CLIP cannot have the GPU it was told to use.
    const clip = roles.includes('gpu') ? await openClipAtStart(config, activitiesDeps.loadClipModel, warn) : undefined;
    const workers = await Promise.all(
      roles.map((role) =>
        Worker.create({
          connection,
          namespace: config.temporal.namespace,
          taskQueue: config.taskQueues[role],
          activities: activities[role],
          maxConcurrentActivityTaskExecutions: config.workers[role].maxConcurrentActivities,
          shutdownGraceTime: `${config.workers[role].shutdownGraceSeconds}s`,
          maxHeartbeatThrottleInterval: `${config.workers[role].heartbeatThrottleSeconds}s`,
          defaultHeartbeatThrottleInterval: `${config.workers[role].heartbeatThrottleSeconds}s`,
          ...(role === 'cpu'
            ? {
                ...workflowCode,
                maxConcurrentWorkflowTaskExecutions: config.workers.cpu.maxConcurrentWorkflowTasks,
              }
            : {}),
        }),
      ),
    );
    const running = workers.map((worker) => (options.until ? worker.runUntil(options.until) : worker.run()));
    options.onReady?.(
      roles.map((role) => config.taskQueues[role]),
      clip,
    );
    // If one worker fails, stop the others too rather than leaving a half-serving process.
    const results = await Promise.allSettled(
      running.map((run) =>
        run.catch((error: unknown) => {
          for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
          throw error;
        }),
      ),
    );
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  } finally {
    await connection.close();
  }
}
