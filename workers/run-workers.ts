import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Agents } from '../activities/agents/index.js';
import path from 'node:path';
import { createActivities } from '../activities/stages/index.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import type { QueueRole } from '../activities/contracts/task-queues.js';
import type { PathgenConfig } from './config/schema.js';
import { errorMessage } from '../activities/common/errors.js';
import { captionTokenizer } from './caption-tokenizer.js';
import { configuredAgents } from './configured-agents.js';
import { resolveRunSettings } from './config/run-settings.js';
import { clipModelLoader } from './configured-clip.js';
import { pathgenVersion, trainingTools, workflowsEntry } from './package-info.js';
import { temporalConnectionOptions } from './temporal-connection.js';

export interface RunWorkersOptions {
  config: PathgenConfig;
  roles: readonly QueueRole[];
  store: ObjectStore;
  /** Called once every worker polls, e.g. to print "ready". */
  onReady?: (queues: string[]) => void;
  /** Resolves when the workers should stop; SIGINT/SIGTERM also stop them (the SDK's runtime handles both). */
  until?: Promise<unknown>;
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
    let agents: Promise<Agents> | undefined;
    // The dataset card counts caption tokens with CLIP's vocabulary; without it the card omits them.
    const countTokens = await captionTokenizer(config).then(
      (tokenizer) => (text: string) => tokenizer.countTokens(text),
      (error: unknown) => {
        warn(`caption token statistics off: ${errorMessage(error)}`);
        return undefined;
      },
    );
    const activitiesDeps = {
      store,
      pathgenVersion,
      slideCacheDir: path.resolve(config.slideCache.dir),
      slideCacheMaxBytes: config.slideCache.maxGiB * 2 ** 30,
      agents: () => (agents ??= configuredAgents(config, store, warn)),
      loadClipModel: clipModelLoader(config, store, warn),
      resolveRunSettings: (overrides: unknown) => resolveRunSettings(config, overrides),
      training: {
        python: config.trainPython ?? trainingTools.defaultPython,
        trainScript: trainingTools.trainScript,
        exportScript: trainingTools.exportScript,
      },
      ...(countTokens ? { countTokens } : {}),
    };
    const activities = createActivities(activitiesDeps);
    // A worker for the agents queue with unusable agent settings (no key, no model) fails now, not per patch.
    if (roles.includes('agents')) await activitiesDeps.agents();
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
                workflowsPath: workflowsEntry(),
                maxConcurrentWorkflowTaskExecutions: config.workers.cpu.maxConcurrentWorkflowTasks,
              }
            : {}),
        }),
      ),
    );
    const running = workers.map((worker) => (options.until ? worker.runUntil(options.until) : worker.run()));
    options.onReady?.(roles.map((role) => config.taskQueues[role]));
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
