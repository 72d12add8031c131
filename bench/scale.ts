// The run at scale: `npm run bench:scale -- [--slides 4000] [--patches 256] [--workers 2] [--store fs|s3]
//   [--image-bytes B] [--work-ms W] [--fail-rate F] [--chaos] [--max-in-flight N] [--json FILE] [--keep]
//   [--profile DIR]` (DIR gets each worker's V8 CPU profile: bench/profile-summary.ts reads them).
//
// The real system end to end — a Temporal dev server on a SQLite file, pathgenRun and pathgenSlide
// with their activity options, the object store, the export, workers in separate processes — with
// only the pixel and model work replaced by the doubles of workers/scale/ (they write what the real
// stages write, under the real keys). With --chaos a random worker is SIGKILLed every 30-60 s and
// started again, and the dev server is killed and restarted once on the same database mid-run.
// Afterwards every history, the exported shards, the doubles' ledgers and the store are read back.
// Prints the figures, and with --json writes them to FILE.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { workflowIds } from '../activities/contracts/keys.js';
import { FsObjectStore } from '../activities/store/fs-store.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import { S3ObjectStore } from '../activities/store/s3-store.js';
import { freePort, startMinio, type RunningMinio } from '../infra/harness/minio-server.js';
import { ensureTemporalDevServer, type DevServer } from '../workers/demo/dev-server.js';
import { toolsBin } from '../workers/package-info.js';
import { expectedSampleKeys, scaleSlideId, type ScalePlan } from '../workers/scale/scale-plan.js';
import type { ScaleWorkerJob } from '../workers/scale/scale-worker.js';
import type { RunProgress } from '../workflows/run-progress.js';
import { countObjects, historyFigures, repeatedWork, shardFigures } from './scale-figures.js';
import { WorkerSlot, peakRssBetween, procStats } from './scale-processes.js';

const { values: args } = parseArgs({
  options: {
    slides: { type: 'string', default: '4000' },
    patches: { type: 'string', default: '256' },
    workers: { type: 'string', default: '2' },
    store: { type: 'string', default: 'fs' },
    'image-bytes': { type: 'string', default: '0' },
    'work-ms': { type: 'string', default: '0' },
    'fail-rate': { type: 'string', default: '0' },
    'max-in-flight': { type: 'string', default: '48' },
    chaos: { type: 'boolean', default: false },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
    /** Writes each worker's V8 CPU profile (of its last, cleanly stopped process) to this folder. */
    profile: { type: 'string' },
  },
});

const plan: ScalePlan = {
  slides: Number(args.slides),
  patchesPerSlide: Number(args.patches),
  failRate: Number(args['fail-rate']),
};
const workerCount = Number(args.workers);
const chaos = args.chaos;
const here = path.dirname(fileURLToPath(import.meta.url));
const workerScript = path.join(here, '..', 'workers', 'scale', 'scale-worker.ts');

function log(message: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pathgen-scale-'));
  const runId = `scale-${randomUUID().slice(0, 8)}`;
  const id = runId.slice(6);
  const queues = { cpu: `${id}-cpu`, gpu: `${id}-gpu`, agents: `${id}-agents` };
  const address = `127.0.0.1:${await freePort()}`;
  const serverOptions = { address, uiPort: await freePort(), stateDir: path.join(dir, 'temporal') };
  let server: DevServer = await ensureTemporalDevServer(serverOptions);
  let minio: RunningMinio | undefined;
  let store: ObjectStore;
  let storage: Record<string, unknown>;
  const fsRoot = path.join(dir, 'store');
  if (args.store === 's3') {
    minio = await startMinio(path.join(toolsBin, 'minio'));
    process.env.PATHGEN_SCALE_S3_ACCESS = minio.accessKey;
    process.env.PATHGEN_SCALE_S3_SECRET = minio.secretKey;
    storage = {
      kind: 's3',
      endpoint: minio.endpoint,
      port: minio.port,
      useSSL: false,
      bucket: 'pathgen-scale',
      accessKeyEnv: 'PATHGEN_SCALE_S3_ACCESS',
      secretKeyEnv: 'PATHGEN_SCALE_S3_SECRET',
    };
    const s3 = new S3ObjectStore({
      endpoint: minio.endpoint,
      port: minio.port,
      useSSL: false,
      bucket: 'pathgen-scale',
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
    });
    await s3.ensureBucket();
    store = s3;
  } else {
    storage = { kind: 'fs', root: fsRoot };
    store = new FsObjectStore({ root: fsRoot });
  }
  const ledgerDir = path.join(dir, 'ledgers');
  await mkdir(ledgerDir, { recursive: true });

  const slots: WorkerSlot[] = [];
  for (let index = 0; index < workerCount; index++) {
    const job: ScaleWorkerJob = {
      roles: ['cpu', 'gpu', 'agents'],
      config: {
        temporal: { address },
        taskQueues: queues,
        storage,
        slideCache: { dir: path.join(dir, `cache-${index}`) },
        workers: {
          cpu: { maxConcurrentActivities: 16, maxConcurrentWorkflowTasks: 20, shutdownGraceSeconds: 1 },
          gpu: { maxConcurrentActivities: 4, shutdownGraceSeconds: 1 },
          agents: { maxConcurrentActivities: 16, shutdownGraceSeconds: 1 },
        },
        run: { maxInFlight: Number(args['max-in-flight']) },
      },
      doubles: {
        plan,
        imageBytes: Number(args['image-bytes']),
        workMs: Number(args['work-ms']),
        ledgerDir,
      },
    };
    const profile = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.profile)}`] : [];
    slots.push(await WorkerSlot.create(index, dir, workerScript, job, profile));
  }
  const manifest = path.join(dir, 'manifest.csv');
  const lines = ['slideId,slide,project'];
  for (let i = 0; i < plan.slides; i++)
    lines.push(`${scaleSlideId(i)},${path.join(dir, 'slides', `${scaleSlideId(i)}.svs`)},TCGA-BRCA`);
  await writeFile(manifest, `${lines.join('\n')}\n`);

  let serverCpuDone = 0;
  let serverPid = await readServerPid(serverOptions.stateDir);
  const serverCpu = () => serverCpuDone + (procStats(serverPid)?.cpuSeconds ?? 0);
  let kills = 0;
  let serverRestarts = 0;
  try {
    log(`Temporal dev server at ${address} (state ${serverOptions.stateDir}); starting ${workerCount} scale workers`);
    await Promise.all(slots.map((slot) => slot.start()));
    const patchesExpected = plan.slides * plan.patchesPerSlide;
    log(
      `run ${runId}: ${plan.slides} slides × ${plan.patchesPerSlide} patches = ${patchesExpected}${chaos ? ', chaos on' : ''}`,
    );
    let connection = await Connection.connect({ address });
    let client = new Client({ connection });
    const workflowId = workflowIds.run(runId);
    const started = performance.now();
    const startedAtMs = Date.now();
    await client.workflow.start('pathgenRun', {
      taskQueue: queues.cpu,
      workflowId,
      args: [{ runId, manifest: { uri: manifest } }],
    });

    let nextKillAt = started + (30 + Math.random() * 30) * 1000;
    let restartDone = !chaos;
    let lastProgress: RunProgress | undefined;
    let lastPrint = 0;
    for (;;) {
      await sleep(1000);
      const now = performance.now();
      for (const slot of slots) slot.sample(Date.now());
      if (chaos && now >= nextKillAt) {
        const slot = slots[Math.floor(Math.random() * slots.length)]!;
        slot.kill();
        kills += 1;
        log(`chaos: SIGKILL worker ${slot.index}`);
        await sleep(500);
        void slot.start().catch((error: unknown) => log(`worker ${slot.index}: ${String(error)}`));
        nextKillAt = now + (30 + Math.random() * 30) * 1000;
      }
      const handle: WorkflowHandle = client.workflow.getHandle(workflowId);
      try {
        const description = await handle.describe();
        if (description.status.name !== 'RUNNING' && description.status.name !== 'CONTINUED_AS_NEW') {
          if (description.status.name !== 'COMPLETED') throw new Error(`run ended ${description.status.name}`);
          break;
        }
        if (now - lastPrint > 10_000) {
          lastProgress = await handle.query<RunProgress>('progress');
          lastPrint = now;
          log(
            `${lastProgress.phase}: ${lastProgress.completed + lastProgress.failed}/${lastProgress.total} slides, ` +
              `${lastProgress.captions} captions, ${lastProgress.running} running, ${lastProgress.continuedAsNew} continued-as-new`,
          );
        }
      } catch (error) {
        if (String(error).includes('run ended')) throw error;
        log(`client: ${String(error).split('\n')[0]}`);
      }
      const done = lastProgress ? (lastProgress.completed + lastProgress.failed) / Math.max(1, lastProgress.total) : 0;
      if (!restartDone && done >= 0.4) {
        restartDone = true;
        serverCpuDone += procStats(serverPid)?.cpuSeconds ?? 0;
        log('chaos: SIGKILL the Temporal dev server, then start it again on the same database');
        process.kill(serverPid, 'SIGKILL');
        await sleep(3000);
        server = await ensureTemporalDevServer(serverOptions);
        serverPid = await readServerPid(serverOptions.stateDir);
        serverRestarts += 1;
        await connection.close().catch(() => undefined);
        connection = await Connection.connect({ address });
        client = new Client({ connection });
      }
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const finishedAtMs = Date.now();
    log(`run completed in ${wallSeconds.toFixed(1)} s; reading back histories, shards, ledgers and the store`);
    const handle = client.workflow.getHandle(workflowId);
    const queryTimes: number[] = [];
    let progress!: RunProgress;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      progress = await handle.query<RunProgress>('progress');
      queryTimes.push(performance.now() - t);
    }
    const v = performance.now();
    const { count: slideCount } = await client.workflow.count(
      `PathgenRunId = '${runId}' AND WorkflowType = 'pathgenSlide'`,
    );
    const { count: failedCount } = await client.workflow.count(
      `PathgenRunId = '${runId}' AND PathgenStatus = 'failed'`,
    );
    const visibilityQueryMs = (performance.now() - v) / 2;

    const histories = await historyFigures(client, runId);
    const shards = await shardFigures(store, runId, expectedSampleKeys(plan));
    const ledger = await repeatedWork(ledgerDir);
    const objects = await countObjects(store, args.store === 's3' ? undefined : fsRoot);
    const dbBytes = await sizeOf(path.join(serverOptions.stateDir, 'temporal.db'));
    const workerCpu = slots.reduce((sum, slot) => sum + slot.cpuSeconds(), 0);
    const exportWindow = histories.exportWindow;
    const exportSeconds = exportWindow ? (exportWindow.toMs - exportWindow.fromMs) / 1000 : 0;
    const figures = {
      slides: plan.slides,
      patchesExpected,
      samplesExported: shards.samples,
      missing: shards.missing,
      duplicates: shards.duplicates,
      export: shards.folder,
      wallSeconds: round(wallSeconds, 1),
      patchesPerSecond: round(patchesExpected / wallSeconds, 1),
      activitiesPerSecond: round(histories.activitiesCompleted / wallSeconds, 1),
      historyEventsPerSlide: histories.eventsPerSlide,
      runExecutions: histories.runExecutions,
      runEventsMax: histories.runEventsMax,
      maxPayloadBytes: histories.maxPayloadBytes,
      temporalDbBytes: dbBytes,
      workerRssPeakMb: round(Math.max(...slots.map((slot) => slot.peakRssMb)), 1),
      exportSeconds: round(exportSeconds, 1),
      exportRssPeakMb: exportWindow
        ? round(peakRssBetween(slots, exportWindow.fromMs, exportWindow.toMs + 1000), 1)
        : 0,
      storeObjectsPerPatch: round(objects / patchesExpected, 2),
      progressQueryMs: round(Math.max(...queryTimes), 1),
      visibilityQueryMs: round(visibilityQueryMs, 1),
      kills,
      serverRestarts,
      verdict: verdict({ wallSeconds, serverCpu: serverCpu(), workerCpu, exportSeconds }),
      // Beyond the issue's list: what the chaos must not cause, and the cost per patch.
      doublesRepeated: ledger.repeated,
      orchestrationMsPerPatch: round(((wallSeconds - exportSeconds) * 1000) / patchesExpected, 3),
    };
    console.log(JSON.stringify(figures, null, 2));
    log(
      `slides in visibility ${slideCount}, failed ${failedCount}; shards ${shards.shards}, unexpected samples ${shards.unexpected}; ` +
        `progress says ${progress.completed} completed, ${progress.failed} failed, ${progress.captions} captions; ` +
        `doubles did ${ledger.done} pieces of work; worker starts ${slots.map((s) => s.starts).join('/')}, ` +
        `unexpected exits ${slots.map((s) => s.unexpectedExits).join('/')}; CPU: server ${serverCpu().toFixed(0)} s, workers ${workerCpu.toFixed(0)} s ` +
        `over ${wallSeconds.toFixed(0)} s on 2 cores; run from ${new Date(startedAtMs).toISOString()} to ${new Date(finishedAtMs).toISOString()}`,
    );
    if (args.json) await writeFile(args.json, `${JSON.stringify(figures, null, 2)}\n`);
    await connection.close();
  } finally {
    await Promise.all(slots.map((slot) => slot.stop()));
    await server.stop();
    await minio?.stop();
    if (args.keep) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

/** The resource the run waited on, from the CPU each process used over the run (2 cores here). */
function verdict(figures: {
  wallSeconds: number;
  serverCpu: number;
  workerCpu: number;
  exportSeconds: number;
}): string {
  const cores = 2;
  const machine = figures.wallSeconds * cores;
  const server = figures.serverCpu / machine;
  const workers = figures.workerCpu / machine;
  const exportShare = figures.exportSeconds / figures.wallSeconds;
  const shares = `server ${pct(server)}, workers ${pct(workers)} of the machine's CPU; export ${pct(exportShare)} of wall time`;
  if (exportShare > 0.4) return `bottleneck: export (${shares})`;
  // Idle CPU with work left is waiting: on the store's I/O, or on Temporal's timeouts (a killed
  // worker's heartbeat timeout, retry backoff, a continue-as-new waiting for its slowest slide).
  if (server + workers < 0.7)
    return `bottleneck: waiting, store I/O or timeouts (CPU idle ${pct(1 - server - workers)}; ${shares})`;
  return server >= workers ? `bottleneck: server CPU (${shares})` : `bottleneck: worker CPU (${shares})`;
}

const pct = (share: number) => `${Math.round(share * 100)}%`;
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sizeOf(file: string): Promise<number> {
  let total = 0;
  for (const suffix of ['', '-wal', '-shm'])
    total += await stat(`${file}${suffix}`).then(
      (s) => s.size,
      () => 0,
    );
  return total;
}

async function readServerPid(stateDir: string): Promise<number> {
  return Number((await readFile(path.join(stateDir, 'pids', 'temporal.pid'), 'utf8')).trim());
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
