// Benchmark of the durable run end to end: `npm run bench:run`.
//
// Writes a demo cohort (synthetic slides with reports) and runs it with the built-in agents and
// model-free selection (unless PATHGEN_* settings say otherwise), each run in a child process of its
// own (a fresh heap) and into a fresh fs store, so nothing is reused:
// - In-process reference, no Temporal: the activities of createActivities (deps as the worker builds
//   them) called through MockActivityEnvironment in pathgenRun's and pathgenSlide's order with their
//   inputs, and with the run's concurrency: up to run.maxInFlight slides and run.agentBatchesInParallel
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
import { ApplicationFailure } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Runtime } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { AgentActivities, PatchRef } from '../activities/stages/agents.js';
import type { AgentUsage } from '../activities/agents/index.js';
import type { ExportActivities } from '../activities/stages/export.js';
import { createActivities } from '../activities/stages/index.js';
import type { ManifestRow } from '../activities/manifest/index.js';
import type { SlideSummary } from '../activities/contracts/slide-job.js';
import type { ManifestRef, RunActivities } from '../activities/stages/run.js';
import { slideRecordKey } from '../activities/contracts/slide-record.js';
import type { SlideRecord } from '../activities/contracts/slide-record.js';
import type { RunSettings } from '../activities/contracts/run-settings.js';
import type { SelectActivities } from '../activities/stages/select.js';
import { FsObjectStore } from '../activities/store/fs-store.js';
import type { TileActivities } from '../activities/stages/tile.js';
import { captionTokenizer } from '../workers/caption-tokenizer.js';
import { formatConfigIssues, loadConfig } from '../workers/config/load-config.js';
import type { PathgenConfig } from '../workers/config/schema.js';
import { configuredAgents } from '../workers/configured-agents.js';
import { clipModelLoader } from '../workers/configured-clip.js';
import { ensureTemporalDevServer, writeDemoCohort } from '../workers/demo/index.js';
import { installRuntime } from '../workers/install-runtime.js';
import { pathgenVersion, trainingTools } from '../workers/package-info.js';
import { resolveRunSettings } from '../workers/config/run-settings.js';
import { runWorkers } from '../workers/run-workers.js';
import { temporalConnectionOptions } from '../workers/temporal-connection.js';
import { runExportInput } from '../workflows/export.js';
import { addUsage, zeroUsage } from '../activities/contracts/usage.js';
import { runWorkflowId } from '../workflows/run.js';
import type { pathgenRun } from '../workflows/run.js';
import { slideWorkflowId } from '../workflows/slide.js';
import { queueRoles } from '../activities/contracts/task-queues.js';
import type { QueueRole } from '../activities/contracts/task-queues.js';
import { freePort } from '../infra/harness/minio-server.js';

const slides = Number(process.env.BENCH_SLIDES ?? 6);
const seed = Number(process.env.BENCH_SEED ?? 0);
const width = Number(process.env.BENCH_WIDTH ?? 10_000);
const height = Number(process.env.BENCH_HEIGHT ?? 7500);
const maxPerSlide = Number(process.env.BENCH_MAX_PER_SLIDE ?? 256);
const exportEnabled = process.env.BENCH_EXPORT !== '0';
const warmUp = process.env.BENCH_WARMUP !== '0';
const keep = process.env.BENCH_KEEP === '1';
/** The issue's budget: at most this many history events for a slide of this many patches. */
const eventBudget = { events: 300, patches: 256 };

interface Elapsed {
  ms: number;
  /** CPU time of this process: the activities and, on the Temporal side, the workers and workflows. */
  cpuMs: number;
  /** CPU time of the Temporal dev server, when this benchmark started it (read from /proc). */
  serverCpuMs?: number;
}

/** Run time of each activity type, summed over its calls (waits for a slot excluded). */
type ActivityTimes = Record<string, { calls: number; ms: number }>;

interface Measured extends Elapsed {
  completed: number;
  failed: number;
  candidates: number;
  selected: number;
  captioned: number;
  activities: ActivityTimes;
}

interface TemporalRun extends Measured {
  slideHistories: HistoryFigures[];
  runEvents: number;
  /** Each activity's time from scheduled to started, ms. */
  waits: number[];
  /** Each workflow task's time from started to completed (the worker's part), ms. */
  workflowTasks: number[];
}

interface HistoryFigures {
  events: number;
  activity: number;
  workflowTask: number;
  other: number;
  batches: number;
}

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

const fixed = (value: number, digits = 1) => value.toFixed(digits);

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
  // The worker's activity dependencies, as runWorkers builds them (it builds the agents before it
  // polls: so does this, before the clock starts).
  const tokenizer = await captionTokenizer(config);
  const agents = configuredAgents(config, store, warn);
  await agents;
  const activities = createActivities({
    store,
    pathgenVersion,
    slideCacheDir: resolve(config.slideCache.dir),
    slideCacheMaxBytes: config.slideCache.maxGiB * 2 ** 30,
    agents: () => agents,
    loadClipModel: clipModelLoader(config, store, warn),
    resolveRunSettings: (overrides: unknown) => resolveRunSettings(config, overrides),
    countTokens: (text: string) => tokenizer.countTokens(text),
    training: { ...trainingTools, python: trainingTools.defaultPython },
  });
  const pipeline = inProcessPipeline(config, activities);
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

/** pathgenRun and pathgenSlide's sequence of activities, without Temporal. */
function inProcessPipeline(config: PathgenConfig, activities: ReturnType<typeof createActivities>) {
  const cpu = activities.cpu as unknown as TileActivities & RunActivities & ExportActivities;
  const gpu = activities.gpu as unknown as SelectActivities;
  const agents = activities.agents as unknown as AgentActivities;
  // A method, unlike the other activities: wrapped so it keeps its object (and its name, the activity type).
  const tileSlide: TileActivities['tileSlide'] = (input) => cpu.tileSlide(input);
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
    const summaries = await inParallel(rows, settings.maxInFlight, (row) => slide(runId, row, settings));
    if (settings.export.enabled) {
      await call('cpu', cpu.exportRun, runExportInput(runId, settings.export, new Date()));
    }
    return summaries;
  }

  async function slide(runId: string, row: ManifestRow, settings: RunSettings): Promise<SlideSummary> {
    const startedAt = new Date().toISOString();
    const job = { kind: 'pipeline' as const, row };
    const prefixes: Record<string, string> = {};
    let usage: AgentUsage = zeroUsage;
    const done: { candidates?: number; selectResultKey?: string; agentsPrefix?: string } = {};
    try {
      const mpp = row.mppOverride !== undefined ? { mppOverride: row.mppOverride } : {};
      const tiled = await call('cpu', tileSlide, {
        slideId: row.slideId,
        slide: row.slide,
        tiling: { ...settings.tiling, ...mpp },
      });
      done.candidates = tiled.candidates;
      prefixes.tile = tiled.prefix;
      const findings = await call('agents', agents.extractFindings, {
        slideId: row.slideId,
        ...(row.report !== undefined ? { report: row.report } : {}),
        ...(row.reportUri !== undefined ? { reportKey: row.reportUri } : {}),
      });
      usage = addUsage(usage, findings.usage);
      const selected = await call('gpu', gpu.selectPatches, {
        slideId: row.slideId,
        slide: row.slide,
        candidatesKey: tiled.keys.candidates,
        project: row.project,
        findingsKey: findings.key,
        ...mpp,
        selection: settings.selection,
      });
      prefixes.select = selected.prefix;
      done.selectResultKey = selected.keys.result;
      const agentsPrefix = `runs/${runId}/agents/${row.slideId}/${selected.prefix.split('/').pop() ?? 'selection'}`;
      done.agentsPrefix = prefixes.agents = agentsPrefix;
      const base = {
        slideId: row.slideId,
        project: row.project,
        findingsKey: findings.key,
        outputPrefix: agentsPrefix,
      };
      const batches: PatchRef[][] = [];
      for (let i = 0; i < selected.patches.length; i += settings.agentBatchSize)
        batches.push(selected.patches.slice(i, i + settings.agentBatchSize));
      const spent = await inParallel(batches, settings.agentBatchesInParallel, async (patches) => {
        let batchUsage: AgentUsage = zeroUsage;
        for (const stage of [agents.describePatches, agents.revisePatches, agents.summarizePatches])
          batchUsage = addUsage(batchUsage, (await call('agents', stage, { ...base, patches })).usage);
        return batchUsage;
      });
      for (const batchUsage of spent) usage = addUsage(usage, batchUsage);
      return await call('cpu', cpu.recordSlide, {
        runId,
        job,
        status: 'completed',
        ...done,
        usage,
        prefixes,
        startedAt,
      });
    } catch (error) {
      return await call('cpu', cpu.recordSlide, {
        runId,
        job,
        status: 'failed',
        reason: error instanceof ApplicationFailure && error.type ? error.type : 'ActivityFailed',
        message: error instanceof Error ? error.message : String(error),
        ...done,
        usage,
        prefixes,
        startedAt,
      });
    }
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
            workflowId: runWorkflowId(runId),
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
        input.slideIds.map((slideId) => history(slideWorkflowId(input.runId, slideId))),
      );
      const runHistory = await history(runWorkflowId(input.runId));
      const activities: ActivityTimes = {};
      const waits: number[] = [];
      const workflowTasks: number[] = [];
      for (const events of [runHistory, ...slideHistories]) addTimes(events, activities, waits, workflowTasks);
      let candidates = 0;
      for (const slideId of input.slideIds) {
        const record = await store.get(slideRecordKey(input.runId, slideId));
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

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

function countEvents(history: History): HistoryFigures {
  const counts: HistoryFigures = { events: 0, activity: 0, workflowTask: 0, other: 0, batches: 0 };
  for (const event of history.events ?? []) {
    counts.events += 1;
    if (
      event.activityTaskScheduledEventAttributes ??
      event.activityTaskStartedEventAttributes ??
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes
    )
      counts.activity += 1;
    else if (
      event.workflowTaskScheduledEventAttributes ??
      event.workflowTaskStartedEventAttributes ??
      event.workflowTaskCompletedEventAttributes ??
      event.workflowTaskFailedEventAttributes ??
      event.workflowTaskTimedOutEventAttributes
    )
      counts.workflowTask += 1;
    else counts.other += 1;
    if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'describePatches') counts.batches += 1;
  }
  return counts;
}

/**
 * Each finished activity's run time (started → closed) by type and its wait (scheduled → started);
 * each workflow task's time in the worker (started → completed).
 */
function addTimes(history: History, times: ActivityTimes, waits: number[], workflowTasks: number[]): void {
  const scheduled = new Map<string, { type: string; at: number }>();
  const started = new Map<string, number>();
  const taskStarted = new Map<string, number>();
  for (const event of history.events ?? []) {
    const at = tsToMs(event.eventTime);
    if (event.workflowTaskStartedEventAttributes) taskStarted.set(String(event.eventId), at);
    const taskDone = event.workflowTaskCompletedEventAttributes;
    const taskFrom = taskDone ? taskStarted.get(String(taskDone.startedEventId)) : undefined;
    if (taskFrom !== undefined) workflowTasks.push(at - taskFrom);
    const schedule = event.activityTaskScheduledEventAttributes;
    if (schedule) scheduled.set(String(event.eventId), { type: schedule.activityType?.name ?? '?', at });
    const start = event.activityTaskStartedEventAttributes;
    if (start) started.set(String(start.scheduledEventId), at);
    const closed =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes;
    const from = closed ? scheduled.get(String(closed.scheduledEventId)) : undefined;
    const startedAt = closed ? started.get(String(closed.scheduledEventId)) : undefined;
    if (!from || startedAt === undefined) continue;
    const time = (times[from.type] ??= { calls: 0, ms: 0 });
    time.calls += 1;
    time.ms += at - startedAt;
    waits.push(startedAt - from.at);
  }
}

function report<T extends Measured>(label: string, run: T): T {
  console.log(
    `${label}: ${run.completed} slides completed, ${run.failed} failed; ${run.candidates} candidates, ` +
      `${run.captioned} of ${run.selected} selected patches captioned in ${fixed(run.ms / 1000, 2)} s = ` +
      `${fixed((run.captioned / run.ms) * 1000, 2)} patches/s; CPU ${fixed(run.cpuMs / 1000)} s in this process` +
      (run.serverCpuMs !== undefined ? ` + ${fixed(run.serverCpuMs / 1000)} s in the Temporal server` : ''),
  );
  return run;
}

function compare(reference: Measured, temporal: TemporalRun): void {
  const overheadMs = temporal.ms - reference.ms;
  console.log(
    `ratio Temporal / in-process wall time: ${fixed(temporal.ms / reference.ms, 3)}×; orchestration overhead ` +
      `${fixed((overheadMs / temporal.ms) * 100)} % of Temporal's wall time, ${fixed(overheadMs / Math.max(1, temporal.captioned), 2)} ms per captioned patch`,
  );
  // Unlike wall time, CPU time hardly depends on what else a shared machine is running.
  const cpuOf = (run: Measured) => run.cpuMs + (run.serverCpuMs ?? 0);
  const extraCpuMs = cpuOf(temporal) - cpuOf(reference);
  console.log(
    `CPU time Temporal / in-process: ${fixed(cpuOf(temporal) / cpuOf(reference), 3)}×; ${fixed(extraCpuMs / 1000, 2)} CPU s more ` +
      `= ${fixed((extraCpuMs / cpuOf(temporal)) * 100)} % of Temporal's, ${fixed(extraCpuMs / Math.max(1, temporal.captioned), 2)} CPU ms per captioned patch`,
  );
  if (reference.captioned !== temporal.captioned || reference.selected !== temporal.selected)
    console.log('note: the two sides captioned different numbers of patches; compare patches/s, not wall time');
  const cell = (times: ActivityTimes, type: string) => {
    const time = times[type];
    return time ? `${time.calls} × = ${fixed(time.ms / 1000, 2)} s` : '-';
  };
  console.log('activity run time, summed over calls (in-process | Temporal):');
  for (const type of new Set([...Object.keys(reference.activities), ...Object.keys(temporal.activities)]))
    console.log(
      `  ${type.padEnd(18)} ${cell(reference.activities, type).padEnd(18)} | ${cell(temporal.activities, type)}`,
    );
  const waits = [...temporal.waits].sort((a, b) => a - b);
  const median = (sorted: number[]) => fixed(sorted[Math.floor(sorted.length / 2)] ?? 0);
  console.log(
    `Temporal schedule-to-start over ${waits.length} activities: median ${median(waits)} ms, ` +
      `max ${fixed(waits.at(-1) ?? 0)} ms (waits for a free worker slot included)`,
  );
  const tasks = [...temporal.workflowTasks].sort((a, b) => a - b);
  console.log(
    `Temporal workflow tasks: ${tasks.length}, started → completed median ${median(tasks)} ms, ` +
      `max ${fixed(tasks.at(-1) ?? 0)} ms, ${fixed(tasks.reduce((sum, ms) => sum + ms, 0) / 1000, 2)} s in all`,
  );
}

/**
 * Events per slide, and an estimate for a slide of 256 patches: a slide with fewer agent batches
 * than that gets, per missing batch, three activities (scheduled, started, completed), each with a
 * workflow task of its own (scheduled, started, completed): 18 events, the most a batch can add
 * (batches that finish together share workflow tasks, so fewer is the rule).
 */
function reportHistories(run: TemporalRun, batchSize: number): void {
  const histories = run.slideHistories;
  const counts = histories.map((slide) => slide.events);
  const mean = (pick: (slide: HistoryFigures) => number) =>
    fixed(histories.reduce((sum, slide) => sum + pick(slide), 0) / Math.max(1, histories.length));
  console.log(
    `history events per slide: min ${Math.min(...counts)}, mean ${mean((s) => s.events)}, max ${Math.max(...counts)} ` +
      `(mean ${mean((s) => s.activity)} activity, ${mean((s) => s.workflowTask)} workflow task, ${mean((s) => s.other)} other events; ` +
      `agent batches per slide: ${histories.map((slide) => slide.batches).join(', ')})`,
  );
  const batchesAtCap = Math.ceil(eventBudget.patches / batchSize);
  const worst = Math.max(...histories.map((s) => s.events + Math.max(0, batchesAtCap - s.batches) * 18));
  console.log(
    `estimate for ${eventBudget.patches} patches (${batchesAtCap} batches of ${batchSize}; +18 events per missing batch, an upper bound): ` +
      `at most ${worst} events per slide → ${worst <= eventBudget.events ? 'within' : 'OVER'} the ${eventBudget.events}-event budget`,
  );
  console.log(
    `run workflow history: ${run.runEvents} events for ${histories.length} slides (${fixed(run.runEvents / Math.max(1, histories.length))} per slide)`,
  );
}

/** The side's own store (its config's fs root), so nothing is reused from the other side. */
function fsStore(config: PathgenConfig): FsObjectStore {
  if (config.storage.kind !== 'fs') throw new Error('the benchmark uses an fs store');
  return new FsObjectStore({ root: config.storage.root });
}

/** The mean of two reference runs of the same input (counts are the same; times are averaged). */
function meanOf(a: Measured, b: Measured): Measured {
  const mean = (x: number, y: number) => (x + y) / 2;
  const activities: ActivityTimes = {};
  for (const type of new Set([...Object.keys(a.activities), ...Object.keys(b.activities)])) {
    const [x, y] = [a.activities[type], b.activities[type]];
    activities[type] = { calls: x?.calls ?? y?.calls ?? 0, ms: mean(x?.ms ?? 0, y?.ms ?? 0) };
  }
  return {
    ...a,
    ms: mean(a.ms, b.ms),
    cpuMs: mean(a.cpuMs, b.cpuMs),
    ...(a.serverCpuMs !== undefined && b.serverCpuMs !== undefined
      ? { serverCpuMs: mean(a.serverCpuMs, b.serverCpuMs) }
      : {}),
    activities,
  };
}

/** Starts the clocks: wall time, this process's CPU time and the dev server's. */
function startClock(serverPid: number | undefined): () => Elapsed {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const server = serverPid !== undefined ? processCpuMs(serverPid) : undefined;
  return () => {
    const used = process.cpuUsage(cpu);
    const serverNow = serverPid !== undefined ? processCpuMs(serverPid) : undefined;
    return {
      ms: performance.now() - wall,
      cpuMs: (used.user + used.system) / 1000,
      ...(server !== undefined && serverNow !== undefined ? { serverCpuMs: serverNow - server } : {}),
    };
  };
}

/** User + system time of a process from /proc/<pid>/stat (Linux's USER_HZ is 100 ticks a second). */
function processCpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
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

/** `work` over items, at most `limit` at once, results in item order (as the slide workflow runs batches). */
async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}
