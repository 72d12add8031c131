import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportKeys, workflowIds } from '../activities/contracts/keys.js';
import { readExportPointer } from '../activities/export/index.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import type { pathgenRun, RunResult } from '../workflows/run.js';
import { progressQuery } from '../workflows/run.js';
import type { PathgenConfig } from './config/schema.js';
import { createProgressView, ensureTemporalDevServer, formatDemoSummary, writeDemoCohort } from './demo/index.js';
import { formatDemoTrainSummary, trainAndEvaluateDemo, type DemoTrainOutcome } from './demo/demo-train.js';
import { runWorkers } from './run-workers.js';
import { temporalConnectionOptions } from './temporal-connection.js';

// `pathgen demo`: the whole pipeline on embedded defaults. Starts what is missing (a Temporal dev
// server from the installed CLI; workers for every queue in this process; the filesystem store),
// writes a few synthetic slides with reports, runs them with the built-in agents and model-free
// selection, exports, and prints progress and a summary. A second run reuses everything finished.

export interface DemoOptions {
  config: PathgenConfig;
  store: ObjectStore;
  /** Where the demo's slides and manifest go. */
  dir: string;
  /** Where a Temporal dev server started by the demo keeps its SQLite file and log. */
  stateDir: string;
  slides: number;
  seed: number;
  out: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean; columns?: number };
  /** Keep a dev server the demo started running afterwards (so the UI link keeps working). */
  keepServer: boolean;
  /** Also train a tiny CLIP on the export and zero-shot-evaluate it (needs install-tools.sh --train). */
  train?: { epochs: number };
}

export interface DemoOutcome {
  result: RunResult;
  trained?: DemoTrainOutcome;
  datasetDir: string;
  uiUrl: string;
}

export async function runDemo(options: DemoOptions): Promise<DemoOutcome> {
  const started = Date.now();
  const { config, out } = options;
  const say = (line: string) => out.write(`${line}\n`);
  const server = await ensureTemporalDevServer({
    address: config.temporal.address,
    stateDir: options.stateDir,
    detach: options.keepServer,
    onLog: (line) => say(`· ${line}`),
  });
  try {
    say(`· writing ${options.slides} synthetic slides with reports under ${options.dir}`);
    const cohort = await writeDemoCohort(path.join(options.dir, 'slides'), {
      slides: options.slides,
      seed: options.seed,
    });
    await mkdir(options.dir, { recursive: true });
    const manifest = path.join(options.dir, 'manifest.jsonl');
    await writeFile(manifest, cohort.manifestRows.map((row) => JSON.stringify(row)).join('\n') + '\n');

    let stopWorkers!: () => void;
    const workers = runWorkers({
      config,
      roles: ['cpu', 'gpu', 'agents'],
      store: options.store,
      until: new Promise<void>((resolve) => (stopWorkers = resolve)),
    });
    const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const runId = `demo-${options.slides}-${options.seed}`;
      const workflowId = workflowIds.run(runId);
      // The same run id each time: a rerun is a new execution that finds every finished stage in the store.
      const handle = await client.workflow
        .start<typeof pathgenRun>('pathgenRun', {
          taskQueue: config.taskQueues.cpu,
          workflowId,
          args: [{ runId, manifest: { uri: manifest } }],
        })
        .catch((error: unknown) => {
          if (error instanceof WorkflowExecutionAlreadyStartedError) {
            say(`· ${workflowId} is already running: following it`);
            return client.workflow.getHandle<typeof pathgenRun>(workflowId);
          }
          throw error;
        });
      say(`· run ${runId}: ${server.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${workflowId}`);
      const view = createProgressView({ stream: out });
      let finished = false;
      const polling = (async () => {
        while (!finished) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          if (finished) break;
          const progress = await handle.query(progressQuery).catch(() => undefined);
          if (progress && !finished) view.update(progress);
        }
      })();
      const result = await handle.result().finally(() => {
        finished = true;
      });
      await polling;
      view.finish(result.progress);
      const datasetDir = await datasetLocation(options.store, runId);
      const { progress } = result;
      say(
        formatDemoSummary({
          slides: { total: progress.total, completed: progress.completed, failed: progress.failed },
          patches: progress.stages.captions?.total ?? 0,
          captions: progress.captions,
          failures: { ...progress.failuresByReason, ...progress.patchFailuresByReason },
          seconds: (Date.now() - started) / 1000,
          datasetDir,
          uiUrl: server.uiUrl,
          runId,
        }),
      );
      if (server.started && options.keepServer) {
        say(
          `  The Temporal dev server keeps running for the UI; stop it with: kill $(cat ${path.join(options.stateDir, 'pids', 'temporal.pid')})`,
        );
      }
      let trained: DemoTrainOutcome | undefined;
      if (options.train) {
        trained = await trainAndEvaluateDemo({
          client,
          store: options.store,
          taskQueue: config.taskQueues.cpu,
          runId,
          dir: options.dir,
          seed: options.seed,
          epochs: options.train.epochs,
          say,
        });
        say(formatDemoTrainSummary(trained));
      }
      return { result, datasetDir, uiUrl: server.uiUrl, ...(trained ? { trained } : {}) };
    } finally {
      await connection.close();
      stopWorkers();
      await workers;
    }
  } finally {
    if (!options.keepServer) await server.stop();
  }
}

/** Where the exported dataset is: a folder for the fs store, else its store URI. */
async function datasetLocation(store: ObjectStore, runId: string): Promise<string> {
  const exportPrefix = exportKeys.prefix(runId);
  const pointer = await readExportPointer(store, exportPrefix);
  // The version's folder: its prefix without the trailing '/' (a key may not end in one).
  const key = pointer ? exportKeys.version(exportPrefix, pointer.version).replace(/\/$/, '') : exportPrefix;
  const local = store.localFile?.(key);
  return local ?? `${store.description}${key}`;
}
