import { readFileSync } from 'node:fs';
import type { QueueRole } from '../../activities/contracts/task-queues.js';
import { openConfiguredStore } from '../configured-store.js';
import { formatConfigIssues, loadConfig } from '../config/load-config.js';
import { runWorkers } from '../run-workers.js';
import { scaleActivities, type ScaleDoubleOptions } from './scale-doubles.js';

// A worker process in scale mode (bench/scale.ts starts several and kills them at random): the
// real workers for the given queues, config from the job's overrides, the doubles of
// scale-doubles.ts under the pixel and model activities. Usage: scale-worker.ts <job.json>.

export interface ScaleWorkerJob {
  roles: QueueRole[];
  /** Deep-merged over the embedded defaults (environment ignored: the benchmark says everything). */
  config: Record<string, unknown>;
  doubles: ScaleDoubleOptions;
}

async function main(jobFile: string): Promise<void> {
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as ScaleWorkerJob;
  const loaded = loadConfig({ env: {}, overrides: job.config });
  if (!loaded.ok) throw new Error(formatConfigIssues(loaded.issues));
  const config = loaded.config;
  const store = openConfiguredStore(config.storage);
  await runWorkers({
    config,
    roles: job.roles,
    store,
    activities: (deps) => scaleActivities(deps, job.doubles),
    onReady: (queues) => console.log(JSON.stringify({ ready: queues, pid: process.pid })),
  });
}

const jobFile = process.argv[2];
if (!jobFile) {
  console.error('usage: scale-worker.ts <job.json>');
  process.exit(2);
}
main(jobFile).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
