// Benchmark of the train stage: what our durability costs over bare open_clip. `npm run bench:train`.
//
// A synthetic pathgen export (WebDataset shards written by the export code into a temp fs store) and
// pathgen-tiny trained on it for BENCH_EPOCHS epochs on this machine (CPU unless CUDA is there), two
// ways with the same command line (trainer-args.ts, the demo's hyperparameters):
// (a) reference: infra/train/pathgen_train.py spawned directly, wall time from spawn to exit;
// (b) ours, the train activity's pieces without Temporal: `stageDataset` (hash the shards), then
//     `runTrainingAttempt` with a `CheckpointSync` copying each checkpoint into the store as it
//     completes (keeping the newest 2, the activity's default), then the log into the store.
// (a) and (b) take turns BENCH_REPEATS times; the fastest run of each side is the figure (the machine
// is shared: the slower runs are other people's work). Printed: wall times and the ratio (b)/(a);
// samples/s from the trainer's progress lines and over the whole run; checkpoint bytes uploaded; time
// to the first checkpoint and per later epoch. Then `exportTrainedModel` (download the checkpoint,
// infra/export-clip-onnx.py, load the ONNX model with onnxruntime-node, upload) against
// infra/export-clip-onnx.py run directly on the same checkpoint file, also in turns.
// An untimed one-epoch run of (a) goes first: the first trainer after a while pays for torch's
// libraries coming from disk (seen: 18–44 s instead of 8 s), which is no part of either side. Knobs: BENCH_EPOCHS (3), BENCH_SAMPLES (640), BENCH_SHARDS (4), BENCH_BATCH (32),
// BENCH_REPEATS (2), BENCH_KEEP=1 (keep the temp dir).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { FsObjectStore } from '../activities/store/fs-store.js';
import { CheckpointSync, newestStoredCheckpoint, uploadFile } from '../activities/train/checkpoints.js';
import { exportTrainedModel } from '../activities/train/model-export.js';
import { parseOpenClipLogLine } from '../activities/train/open-clip-log.js';
import { runTrainingAttempt } from '../activities/train/train-attempt.js';
import { TrainHyperparameters } from '../activities/train/train-input.js';
import { trainKeys } from '../activities/contracts/keys.js';
import { trainerArgs } from '../activities/train/trainer-args.js';
import type { TrainerArgsInput } from '../activities/train/trainer-args.js';
import { resolveTrainingDataset, stageDataset } from '../activities/train/training-data.js';
import { repoRoot, requireTrainPython } from '../infra/harness/installed-tools.js';
import { writeSyntheticExport } from '../workers/synthetic/datasets/synthetic-export.js';

const epochs = Number(process.env.BENCH_EPOCHS ?? 3);
const samples = Number(process.env.BENCH_SAMPLES ?? 640);
const shards = Number(process.env.BENCH_SHARDS ?? 4);
const batchSize = Number(process.env.BENCH_BATCH ?? 32);
const repeats = Number(process.env.BENCH_REPEATS ?? 2);
const keep = process.env.BENCH_KEEP === '1';
const model = 'pathgen-tiny';
const trainScript = join(repoRoot, 'infra', 'train', 'pathgen_train.py');
const exportScript = join(repoRoot, 'infra', 'export-clip-onnx.py');
const hyperparameters = TrainHyperparameters.parse({
  batchSize,
  epochs,
  lr: 2e-3,
  warmup: 10,
  weightDecay: 0.1,
  precision: 'fp32',
  workers: 1,
  seed: 0,
});
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

const python = requireTrainPython();
const dir = await mkdtemp(join(tmpdir(), 'pathgen-bench-train-'));
try {
  const storeRoot = join(dir, 'store');
  const store = new FsObjectStore({ root: storeRoot });
  const exported = await writeSyntheticExport(store, 'bench', {
    samples,
    samplesPerShard: Math.ceil(samples / shards),
  });
  const dataset = await resolveTrainingDataset(store, { exportRun: 'bench' });
  console.log(
    `${model}, ${epochs} epochs of ${exported.samples} samples in ${exported.shards} shards, batch ${batchSize}, ` +
      `${hyperparameters.precision}, ${hyperparameters.workers} dataloader worker`,
  );

  // The reference reads the shards where the fs store keeps them (each object is a file under its key).
  const common: Omit<TrainerArgsInput, 'trainData' | 'logsDir' | 'name'> = {
    script: trainScript,
    model,
    samples: dataset.samples,
    hyperparameters,
    forceQuickGelu: false,
    logEveryNSteps: 10,
  };

  const warmUp = { ...common, hyperparameters: { ...hyperparameters, epochs: 1 } };
  await runPython(
    trainerArgs({ ...warmUp, trainData: join(storeRoot, dataset.pattern), logsDir: join(dir, 'warm-up'), name: 'run' }),
  );

  // (a) and (b) take turns, so a burst of other work on the machine does not land on one side only.
  const referenceRuns: TrainingRun[] = [];
  const ourRuns: (TrainingRun & OurRun)[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    const logsDir = join(dir, `reference-${repeat}`);
    const started = performance.now();
    const run = await runPython(
      trainerArgs({ ...common, trainData: join(storeRoot, dataset.pattern), logsDir, name: 'run' }),
    );
    referenceRuns.push({
      ms: performance.now() - started,
      checkpointAt: run.events.flatMap((event) => (event.kind === 'checkpointSaved' ? [event.at] : [])),
      rates: run.events.flatMap((event) => (event.kind === 'progress' ? [event.samplesPerSecond] : [])),
    });

    const work = join(dir, `ours-${repeat}`);
    const prefix = trainKeys.stage(`bench-${repeat}`, 'stage');
    const ours = { ms: 0, stagedMs: 0, checkpointAt: [] as number[], rates: [] as number[] };
    const counts = { uploads: 0, uploadedBytes: 0, device: 'default' };
    const begun = performance.now();
    const staged = await stageDataset(dataset, { store, dir: join(work, 'data') });
    ours.stagedMs = performance.now() - begun;
    const attemptDir = join(work, 'logs', 'attempt-1');
    const sync = new CheckpointSync(store, join(attemptDir, 'checkpoints'), `${prefix}checkpoints/`, 2, (c) => {
      ours.checkpointAt.push(performance.now() - begun);
      counts.uploadedBytes += c.bytes;
      counts.uploads += 1;
    });
    await runTrainingAttempt({
      python,
      args: { ...common, trainData: staged.localPattern, logsDir: join(work, 'logs'), name: 'attempt-1' },
      sync,
      signal: new AbortController().signal,
      checkpointPollMs: 1000,
      onProgress: (progress) => ours.rates.push(progress.samplesPerSecond),
      onCpuFallback: () => (counts.device = 'cpu'),
    });
    await uploadFile(store, join(attemptDir, 'out.log'), `${prefix}logs/attempt-1.log`);
    ours.ms = performance.now() - begun;
    const final = await newestStoredCheckpoint(store, `${prefix}checkpoints/`);
    if (final?.epoch !== epochs) throw new Error(`the last stored checkpoint is ${final?.key ?? 'missing'}`);
    ourRuns.push({ ...ours, ...counts, checkpoint: final.key });
  }

  const total = dataset.samples * epochs;
  const a = fastest(referenceRuns);
  const b = fastest(ourRuns);
  console.log(
    `(a) pathgen_train.py directly: ${seconds(a.ms)} spawn to exit (fastest of ${list(referenceRuns)}); ` +
      `${rate(a.rates)} samples/s in its progress lines, ${(total / (a.ms / 1000)).toFixed(1)} samples/s over the run; ` +
      epochTimes(a.checkpointAt),
  );
  console.log(
    `(b) stageDataset + runTrainingAttempt + CheckpointSync: ${seconds(b.ms)} (fastest of ${list(ourRuns)}; ` +
      `staging ${seconds(b.stagedMs)}); ${rate(b.rates)} samples/s in its progress lines, ` +
      `${(total / (b.ms / 1000)).toFixed(1)} samples/s over the run; ${epochTimes(b.checkpointAt)} (stored, staging ` +
      `included); ${b.uploads} checkpoints uploaded, ${(b.uploadedBytes / 1e6).toFixed(1)} MB; device ${b.device}`,
  );
  console.log(
    `ratio (b)/(a): ${(b.ms / a.ms).toFixed(3)} fastest, ${(mean(ourRuns.map((r) => r.ms)) / mean(referenceRuns.map((r) => r.ms))).toFixed(3)} ` +
      `mean; durability overhead ${seconds(b.ms - a.ms)} (${(((b.ms - a.ms) / a.ms) * 100).toFixed(1)} %)`,
  );

  const direct: number[] = [];
  const exports: { ms: number; phases: string[] }[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    let started = performance.now();
    await runPython([
      exportScript,
      ...[
        '--model',
        model,
        '--pretrained',
        store.localFile(b.checkpoint),
        '--out',
        join(dir, `export-direct-${repeat}`),
      ],
      ...['--name', 'pathgen-tiny-bench', '--version', '1'],
    ]);
    direct.push(performance.now() - started);
    const phases: string[] = [];
    let phase = 'checking-registry';
    let phaseStarted = performance.now();
    const endPhase = (next: string) => {
      const now = performance.now();
      phases.push(`${phase} ${seconds(now - phaseStarted)}`);
      [phase, phaseStarted] = [next, now];
    };
    started = performance.now();
    await exportTrainedModel(
      { store, workDir: join(dir, `export-work-${repeat}`), tools: { python, exportScript } },
      {
        trainId: 'bench',
        modelId: `bench-tiny-${repeat}`,
        model,
        forceQuickGelu: false,
        checkpointKey: b.checkpoint,
        name: 'pathgen-tiny-bench',
        version: '1',
        lineage: { bench: true },
      },
      new AbortController().signal,
      endPhase,
    );
    endPhase('done');
    exports.push({ ms: performance.now() - started, phases });
  }
  const directMs = Math.min(...direct);
  const ourExport = exports.reduce((best, run) => (run.ms < best.ms ? run : best));
  console.log(
    `export to ONNX: infra/export-clip-onnx.py directly ${seconds(directMs)} (fastest of ${direct.map(seconds).join(', ')}); ` +
      `exportTrainedModel ${seconds(ourExport.ms)} (fastest of ${exports.map((run) => seconds(run.ms)).join(', ')}; ` +
      `${ourExport.phases.join(', ')}): ratio ${(ourExport.ms / directMs).toFixed(2)}`,
  );
} finally {
  if (keep) console.log(`kept ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}

interface OurRun {
  stagedMs: number;
  uploads: number;
  uploadedBytes: number;
  device: string;
  /** Store key of the last epoch's checkpoint. */
  checkpoint: string;
}

interface TrainingRun {
  ms: number;
  /** ms from the start of the run to each checkpoint. */
  checkpointAt: number[];
  rates: number[];
}

function fastest<T extends { ms: number }>(runs: readonly T[]): T {
  return runs.reduce((best, run) => (run.ms < best.ms ? run : best));
}

function list(runs: readonly { ms: number }[]): string {
  return runs.map((run) => seconds(run.ms)).join(', ');
}

interface TimedEvent {
  kind: string;
  samplesPerSecond: number;
  /** ms since the spawn. */
  at: number;
}

/** Runs the training Python to its end from the repo root; each parsed log line with its arrival time. */
async function runPython(args: string[]): Promise<{ lines: string[]; events: TimedEvent[] }> {
  const started = performance.now();
  const child = spawn(python, args, {
    cwd: repoRoot,
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const events: TimedEvent[] = [];
  const closed = [child.stdout, child.stderr].map((stream) => {
    const reader = createInterface({ input: stream, crlfDelay: Infinity });
    reader.on('line', (line) => {
      lines.push(line);
      const event = parseOpenClipLogLine(line);
      if (event)
        events.push({
          kind: event.kind,
          samplesPerSecond: event.kind === 'progress' ? event.samplesPerSecond : NaN,
          at: performance.now() - started,
        });
    });
    return new Promise<void>((resolve) => reader.once('close', () => resolve()));
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  await Promise.all(closed);
  if (code !== 0) throw new Error(`${args[0]} exited with ${code}:\n${lines.slice(-15).join('\n')}`);
  return { lines, events };
}

function rate(values: readonly number[]): string {
  return values.length === 0 ? '?' : mean(values).toFixed(1);
}

/** Time to the first checkpoint (start-up + epoch 1) and the mean time between later ones. */
function epochTimes(checkpointAt: readonly number[]): string {
  const first = checkpointAt[0];
  if (first === undefined) return 'no checkpoint seen';
  const gaps = checkpointAt.slice(1).map((at, i) => at - checkpointAt[i]!);
  return `first checkpoint at ${seconds(first)}, then ${gaps.length > 0 ? seconds(mean(gaps)) : '–'} per epoch`;
}
