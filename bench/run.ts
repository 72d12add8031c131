// Benchmark of the durable run end to end: `npm run bench:run`.
//
// Writes a demo cohort (synthetic slides with reports) and runs it with the built-in agents and
// model-free selection (unless PATHGEN_* settings say otherwise), each run in a child process of its
// own (a fresh heap) and into a fresh fs store, so nothing is reused:
// - In-process reference, no Temporal: the activities of createActivities (deps built by the worker's
//   own workerActivityDeps) called through MockActivityEnvironment in pathgenRun's order, each slide
//   through the same runSlidePlan as pathgenSlide, and with the run's concurrency: up to run.maxInFlight slides and run.agentBatchesInParallel
//   batches a slide at once, and per queue at most workers.<role>.maxConcurrentActivities activities
//   at once (the worker's slots); prepareRun, the manifest pages and the export included.
// - Through Temporal: a dev server (started on free ports with its state in the temp dir, or the one
//   at BENCH_TEMPORAL_ADDRESS), workers for all three queues in the child process on unique task
//   queues, pathgenRun on the same manifest; then the run's and every slide's workflow history.
// The reference runs before and after the Temporal run (their mean is the reference). Each run first
// takes one small warm-up slide, untimed, so none pays for a cold JIT or the workflow bundle.
// Prints slides, patches, wall and CPU time, patches/s, the ratio and the orchestration overhead
// (share of wall time, ms per patch), activity run times side by side, and history events per slide
// and per run against the issue's budget (≤ 300 events for a slide of 256 patches).
// Knobs: BENCH_SLIDES (6), BENCH_SEED (0), BENCH_WIDTH × BENCH_HEIGHT (10,000 × 7,500: about 80
// candidates and two agent batches a slide, under 3 minutes on 2 cores; 24,000 × 18,000 gives about
// 450, so that BENCH_MAX_PER_SLIDE (256, PathGen's cap) binds), BENCH_EXPORT=0 (no export in any run),
// BENCH_WARMUP=0, BENCH_TEMPORAL_ADDRESS (use that server), BENCH_KEEP=1 (keep the temp dir).
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Runtime } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runKeys, workflowIds } from '../activities/contracts/keys.js';
import type { ManifestRow, SlideSummary } from '../activities/contracts/slide-job.js';
import type { SlideRecord } from '../activities/contracts/slide-record.js';
import { queueRoles } from '../activities/contracts/task-queues.js';
import type { QueueRole } from '../activities/contracts/task-queues.js';
import type { AgentActivities } from '../activities/stages/agents.js';
import type { ExportActivities } from '../activities/stages/export.js';
import { createActivities } from '../activities/stages/index.js';
import type { ManifestRef, RunActivities } from '../activities/stages/run.js';
import type { SelectActivities } from '../activities/stages/select.js';
import type { TileActivities } from '../activities/stages/tile.js';
import { FsObjectStore } from '../activities/store/fs-store.js';
import { freePort } from '../infra/harness/minio-server.js';
import {
  addTimes,
  compare,
  countEvents,
  fixed,
  meanOf,
  report,
  reportHistories,
  startClock,
  type ActivityTimes,
  type Measured,
  type TemporalRun,
} from './run-figures.js';
import { workerActivityDeps } from '../workers/activity-deps.js';
import { formatConfigIssues, loadConfig } from '../workers/config/load-config.js';
import type { PathgenConfig } from '../workers/config/schema.js';
import { ensureTemporalDevServer, writeDemoCohort } from '../workers/demo/index.js';
import { installRuntime } from '../workers/install-runtime.js';
import { runWorkers } from '../workers/run-workers.js';
import { temporalConnectionOptions } from '../workers/temporal-connection.js';
import { runExportInput } from '../workflows/export.js';
import type { pathgenRun } from '../workflows/run.js';
import { failureOf } from '../workflows/slide-outcome.js';
import { inParallel, runSlidePlan, type SlideSteps } from '../workflows/slide-plan.js';

const slides = Number(process.env.BENCH_SLIDES ?? 6);
const seed = Number(process.env.BENCH_SEED ?? 0);
const width = Number(process.env.BENCH_WIDTH ?? 10_000);
const height = Number(process.env.BENCH_HEIGHT ?? 7500);
const maxPerSlide = Number(process.env.BENCH_MAX_PER_SLIDE ?? 256);
const exportEnabled = process.env.BENCH_EXPORT !== '0';
const warmUp = process.env.BENCH_WARMUP !== '0';
const keep = process.env.BENCH_KEEP === '1';

/** One side's run: a run id, its manifest and its slide ids. */
type RunInput = { runId: string; manifest: ManifestRef; slideIds: string[] };

/** What a child process measures: one side, from a fresh heap (see the parent below). */
interface SideJob {
  side: 'in-process' | 'temporal';
  config: PathgenConfig;
  input: RunInput;
  warmUp?: RunInput;
  serverPid?: number;
}

// Each side runs in a child process of its own, so that neither inherits the other's heap, JIT or
// loaded models (a second run in one process paid for the first one's heap in trials).
if (process.argv[2] === '--side') {
  installRuntime('WARN');
  const job = JSON.parse(await readFile(process.argv[3]!, 'utf8')) as SideJob;
  const result = job.side === 'temporal' ? await runOnTemporal(job) : await runInProcess(job);
  // A Temporal runtime keeps a process alive until it shuts down, which the in-process side never
  // asks of the one installRuntime started: end once the results are out.
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
} else {
  await main();
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'pathgen-bench-run-'));
  try {
    let started = performance.now();
    const id = randomUUID().slice(0, 8);
    const writeInput = async (name: string, options: { slides: number; width: number; height: number }) => {
      const cohort = await writeDemoCohort(join(dir, name), { ...options, seed });
      const path = join(dir, `${name}.jsonl`);
      await writeFile(path, cohort.manifestRows.map((row) => JSON.stringify(row)).join('\n') + '\n');
      const slideIds = cohort.manifestRows.map((row) => row.slideId);
      return { runId: `bench-${name}-${id}`, manifest: { uri: path }, slideIds };
    };
    const input = await writeInput('cohort', { slides, width, height });
    const warmUpInput = warmUp ? await writeInput('warm-up', { slides: 1, width: 2688, height: 2688 }) : undefined;
    console.log(
      `cohort: ${slides} demo slides of ${width} × ${height}, seed ${seed}, written in ${fixed((performance.now() - started) / 1000)} s`,
    );

    // Started first, so it idles through the in-process runs: all runs share the machine alike but
    // for the work Temporal does for its run.
    const address = process.env.BENCH_TEMPORAL_ADDRESS ?? `127.0.0.1:${await freePort()}`;
    started = performance.now();
    const server = await ensureTemporalDevServer({
      address,
      stateDir: join(dir, 'temporal'),
      uiPort: await freePort(),
    });
    const serverPid = server.started
      ? Number(await readFile(join(dir, 'temporal', 'pids', 'temporal.pid'), 'utf8'))
      : undefined;
    console.log(
      `Temporal dev server at ${address}: ${server.started ? `started in ${fixed((performance.now() - started) / 1000)} s` : 'in use already'}`,
    );
    try {
      const queues = { cpu: `bench-${id}-cpu`, gpu: `bench-${id}-gpu`, agents: `bench-${id}-agents` };
      // Two configs that differ only in their store and slide cache folders: nothing is reused across sides.
      const configFor = (side: string): PathgenConfig => {
        const result = loadConfig({
          env: process.env,
          overrides: {
            temporal: { address },
            taskQueues: queues,
            storage: { kind: 'fs', root: join(dir, side, 'store') },
            slideCache: { dir: join(dir, side, 'cache') },
            select: { maxPerSlide },
            ...(exportEnabled ? {} : { run: { export: { enabled: false } } }),
          },
        });
        if (!result.ok) throw new Error(formatConfigIssues(result.issues));
        return result.config;
      };
      const run = async <T>(side: SideJob['side'], name: string): Promise<T> => {
        const job: SideJob = {
          side,
          config: configFor(name),
          input,
          ...(warmUpInput ? { warmUp: warmUpInput } : {}),
          ...(serverPid !== undefined ? { serverPid } : {}),
        };
        const jobFile = join(dir, `${name}-job.json`);
        await writeFile(jobFile, JSON.stringify(job));
        return JSON.parse(await runChild([fileURLToPath(import.meta.url), '--side', jobFile])) as T;
      };
      // The reference runs before and after Temporal and counts as their mean: on a shared machine a
      // later run is often slower (or faster) for reasons of its own, and this cancels a steady drift.
      const before = report('in-process (no Temporal), before', await run<Measured>('in-process', 'in-process-1'));
      const temporal = report('Temporal (pathgenRun)', await run<TemporalRun>('temporal', 'temporal'));
      const after = report('in-process (no Temporal), after', await run<Measured>('in-process', 'in-process-2'));
      console.log(
        `in-process before / after: ${fixed(before.ms / 1000, 2)} s / ${fixed(after.ms / 1000, 2)} s wall, ` +
          `${fixed(before.cpuMs / 1000)} s / ${fixed(after.cpuMs / 1000)} s CPU: the noise to read the overhead against`,
      );
      compare(meanOf(before, after), temporal);
      reportHistories(temporal, configFor('temporal').agents.batchSize);
    } finally {
      await server.stop();
    }
  } finally {
    if (keep) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

/** Runs this script again (through tsx, as now) and returns its stdout; its stderr passes through. */
function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`the benchmark side ${args.join(' ')} exited with ${code}`));
    });
  });
}

async function runInProcess({ config, input, warmUp, serverPid }: SideJob): Promise<Measured> {
  const store = fsStore(config);
  const logger = Runtime.instance().logger;
  const warn = (message: string): void => {
    logger.warn(message);
  };
  // The worker's activity dependencies, built as the worker builds them (which builds its agents
  // before it polls: so does this, before the clock starts).
  const deps = await workerActivityDeps(config, store, warn);
  await deps.agents();
  const pipeline = inProcessPipeline(config, createActivities(deps));
  if (warmUp) await pipeline.run(warmUp);
  pipeline.times = {};
  const stopClock = startClock(serverPid);
  const summaries = await pipeline.run(input);
  return {
    ...stopClock(),
    completed: summaries.filter((summary) => summary.status === 'completed').length,
    failed: summaries.filter((summary) => summary.status === 'failed').length,
    candidates: summaries.reduce((sum, summary) => sum + (summary.counts.candidates ?? 0), 0),
    selected: summaries.reduce((sum, summary) => sum + (summary.counts.selected ?? 0), 0),
    captioned: summaries.reduce((sum, summary) => sum + (summary.counts.captioned ?? 0), 0),
    activities: pipeline.times,
  };
}

/** pathgenRun's sequence of activities and pathgenSlide's plan, without Temporal. */
function inProcessPipeline(config: PathgenConfig, activities: ReturnType<typeof createActivities>) {
  const cpu = activities.cpu as unknown as TileActivities & RunActivities & ExportActivities;
  const gpu = activities.gpu as unknown as SelectActivities;
  const agents = activities.agents as unknown as AgentActivities;
  // A method, unlike the other activities: wrapped so it keeps its object (and its name, the activity type).
  const tileSlide: TileActivities['tileSlide'] = (input) => cpu.tileSlide(input);
  const agentActivity = {
    describe: agents.describePatches,
    revise: agents.revisePatches,
    summarize: agents.summarizePatches,
  };
  const limits = Object.fromEntries(
    queueRoles.map((role) => [role, slots(config.workers[role].maxConcurrentActivities)]),
  ) as Record<QueueRole, ReturnType<typeof slots>>;
  const logger = Runtime.instance().logger;
  const state = { times: {} as ActivityTimes, run };
  const call = <I, O>(role: QueueRole, fn: (input: I) => Promise<O>, input: I): Promise<O> =>
    limits[role](async () => {
      const info = { activityType: fn.name, taskQueue: config.taskQueues[role] };
      const environment = new MockActivityEnvironment(info, { logger });
      const started = performance.now();
      try {
        return await environment.run(fn, input);
      } finally {
        const time = (state.times[fn.name] ??= { calls: 0, ms: 0 });
        time.calls += 1;
        time.ms += performance.now() - started;
      }
    });
  const steps: SlideSteps = {
    tile: (input) => call('cpu', tileSlide, input),
    findings: (input) => call('agents', agents.extractFindings, input),
    select: (input) => call('gpu', gpu.selectPatches, input),
    agent: (stage, input) => call('agents', agentActivity[stage], input),
    record: (input) => call('cpu', cpu.recordSlide, input),
    failure: (error) => failureOf(error, 'ActivityFailed'),
    // As the slide workflow does (slide.ts): the report's findings while the slide tiles.
    findingsBesideTile: true,
  };

  async function run({ runId, manifest }: RunInput): Promise<SlideSummary[]> {
    const { settings } = await call('cpu', cpu.prepareRun, { runId, manifest });
    const rows: ManifestRow[] = [];
    let cursor: Parameters<typeof cpu.readManifestPage>[0]['cursor'];
    do {
      const page = await call('cpu', cpu.readManifestPage, {
        runId,
        manifest,
        limit: settings.manifestPageSize,
        ...(cursor ? { cursor } : {}),
      });
      rows.push(...page.rows);
      cursor = page.next;
    } while (cursor);
    const outcomes = await inParallel(rows, settings.maxInFlight, (row) =>
      runSlidePlan(steps, { runId, row, settings, startedAt: new Date().toISOString() }),
    );
    if (settings.export.enabled) {
      await call('cpu', cpu.exportRun, runExportInput(runId, settings.export, new Date()));
    }
    return outcomes.map((outcome) => outcome.summary);
  }

  return state;
}

async function runOnTemporal({ config, input, warmUp, serverPid }: SideJob): Promise<TemporalRun> {
  const store = fsStore(config);
  let stop!: () => void;
  let ready!: () => void;
  const polling = new Promise<void>((resolve) => (ready = resolve));
  const workers = runWorkers({
    config,
    roles: queueRoles,
    store,
    until: new Promise<void>((resolve) => (stop = resolve)),
    onReady: () => ready(),
  });
  try {
    const stoppedEarly = workers.then(() => {
      throw new Error('the workers stopped before the run ended');
    });
    // Once the run is over the workers stop on purpose: that is no failure.
    stoppedEarly.catch(() => undefined);
    // Bundling the workflows and building the agents happen here, before the clock starts.
    await Promise.race([polling, stoppedEarly]);
    const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const execute = ({ runId, manifest }: RunInput) =>
        Promise.race([
          client.workflow.execute<typeof pathgenRun>('pathgenRun', {
            taskQueue: config.taskQueues.cpu,
            workflowId: workflowIds.run(runId),
            args: [{ runId, manifest }],
          }),
          stoppedEarly,
        ]);
      if (warmUp) await execute(warmUp);
      const stopClock = startClock(serverPid);
      const { progress } = await execute(input);
      const elapsed = stopClock();

      const history = (workflowId: string) => client.workflow.getHandle(workflowId).fetchHistory();
      const slideHistories = await Promise.all(
        input.slideIds.map((slideId) => history(workflowIds.slide(input.runId, slideId))),
      );
      const runHistory = await history(workflowIds.run(input.runId));
      const activities: ActivityTimes = {};
      const waits: number[] = [];
      const workflowTasks: number[] = [];
      for (const events of [runHistory, ...slideHistories]) addTimes(events, activities, waits, workflowTasks);
      let candidates = 0;
      for (const slideId of input.slideIds) {
        const record = await store.get(runKeys.slideRecord(input.runId, slideId));
        candidates += (JSON.parse(record.toString()) as SlideRecord).counts.candidates ?? 0;
      }
      return {
        ...elapsed,
        completed: progress.completed,
        failed: progress.failed,
        candidates,
        selected: progress.stages.captions?.total ?? 0,
        captioned: progress.captions,
        activities,
        slideHistories: slideHistories.map(countEvents),
        runEvents: runHistory.events?.length ?? 0,
        waits,
        workflowTasks,
      };
    } finally {
      await connection.close();
    }
  } finally {
    stop();
    await workers;
  }
}

/** The side's own store (its config's fs root), so nothing is reused from the other side. */
function fsStore(config: PathgenConfig): FsObjectStore {
  if (config.storage.kind !== 'fs') throw new Error('the benchmark uses an fs store');
  return new FsObjectStore({ root: config.storage.root });
}

/** At most `limit` calls of `work` at once, like a worker's activity slots. */
function slots(limit: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}
