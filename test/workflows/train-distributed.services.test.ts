import { execFile } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { workflowIds } from '../../activities/contracts/keys.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { newestStoredCheckpoint } from '../../activities/train/checkpoints.js';
import type { TrainStageResult } from '../../activities/stages/train.js';
import { requireTrainPython } from '../../infra/harness/installed-tools.js';
import { writeSyntheticExport } from '../../workers/synthetic/datasets/synthetic-export.js';
import type { pathgenTrain } from '../../workflows/train.js';
import { startWorkerProcess } from '../helpers/cli-process.js';
import { connectTestClient, uniqueQueues, workerProcessEnv } from '../helpers/temporal.js';
import { stillRunning, trainerProcesses, type TrainerProcess } from '../helpers/trainer-processes.js';

const execFileAsync = promisify(execFile);

// processesPerNode 2: open_clip under torchrun, two processes on the CPU with gloo, through a real
// pathgenTrain. One training's GPU worker is SIGKILLed in the middle of stage 2; torchrun and both
// ranks must stop with it, and the retry must resume from the stage's stored checkpoint and end
// with the steps of the same training run without a kill (which runs beside it on its own queues).

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

const samples = 320;
const batchSize = 32;
const processesPerNode = 2;
// 320 samples in 4 shards: 2 shards a process, and 320 / (32 × 2) = 5 steps an epoch (10 for one process).
const stepsPerEpoch = samples / (batchSize * processesPerNode);
const stage2Epochs = 4;

function trainInput(trainId: string, exportRun: string) {
  const hyperparameters = { batchSize, lr: 1e-3, warmup: 2, precision: 'fp32', workers: 1, seed: 3 } as const;
  return {
    trainId,
    model: 'pathgen-tiny',
    processesPerNode,
    heartbeatTimeout: '8s',
    stages: [
      { name: 'stage1', datasets: [{ exportRun }], hyperparameters: { ...hyperparameters, epochs: 1 } },
      { name: 'stage2', datasets: [{ exportRun }], hyperparameters: { ...hyperparameters, epochs: stage2Epochs } },
    ],
  };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The optimizer steps a checkpoint's AdamW state has counted: what a resume must carry over. */
async function optimizerSteps(store: ObjectStore, key: string): Promise<number> {
  const file = store.localFile?.(key);
  if (file === undefined) throw new Error('the test store is an fs store');
  const script = [
    'import sys, torch',
    'state = torch.load(sys.argv[1], map_location="cpu", weights_only=False)["optimizer"]["state"]',
    'print(sorted({int(s["step"]) for s in state.values()}))',
  ].join('\n');
  const { stdout } = await execFileAsync(requireTrainPython(), ['-c', script, file]);
  const steps = JSON.parse(stdout) as number[];
  if (steps.length !== 1) throw new Error(`parameters disagree on the step: ${stdout}`);
  return steps[0]!;
}

describe('pathgenTrain with processesPerNode 2 (torchrun, gloo on CPU)', () => {
  it('resumes a killed two-process stage from its checkpoint and ends with the steps of an unkilled run', async () => {
    const python = requireTrainPython();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-train-ddp-'));
    const store = new FsObjectStore({ root: path.join(dir, 'store') });
    const exportRun = 'ddp-export';
    await writeSyntheticExport(store, exportRun, { samples, samplesPerShard: samples / 4 });
    writeFileSync(
      path.join(dir, 'config.yaml'),
      `slideCache:\n  dir: ${path.join(dir, 'cache')}\nworkers:\n  gpu:\n    heartbeatThrottleSeconds: 1\n`,
    );
    const envFor = (queues: ReturnType<typeof uniqueQueues>) =>
      workerProcessEnv(queues, dir, { PATHGEN_CONFIG: path.join(dir, 'config.yaml'), PATHGEN_TRAIN_PYTHON: python });
    const startWorker = async (queues: ReturnType<typeof uniqueQueues>, list: string) => {
      const child = await startWorkerProcess(['--queues', list, '--log-level', 'ERROR'], envFor(queues));
      children.push(child);
      return child;
    };
    // The unkilled training on queues of its own, one worker for both; the killed one with its GPU
    // worker apart, so that it alone dies.
    const plainQueues = uniqueQueues('train-ddp-plain');
    const killedQueues = uniqueQueues('train-ddp-killed');
    await Promise.all([startWorker(plainQueues, 'cpu,gpu'), startWorker(killedQueues, 'cpu')]);
    let gpu = await startWorker(killedQueues, 'gpu');

    const plainId = `dp-${randomUUID().slice(0, 8)}`;
    const killedId = `dk-${randomUUID().slice(0, 8)}`;
    const { client, connection } = await connectTestClient();
    try {
      const plain = client.workflow.execute<typeof pathgenTrain>('pathgenTrain', {
        taskQueue: plainQueues.cpu,
        workflowId: workflowIds.train(plainId),
        args: [trainInput(plainId, exportRun)],
      });
      const killed = await client.workflow.start<typeof pathgenTrain>('pathgenTrain', {
        taskQueue: killedQueues.cpu,
        workflowId: workflowIds.train(killedId),
        args: [trainInput(killedId, exportRun)],
      });

      // Stage 2 has stored its first epoch and trains the second: kill its worker there.
      const stage2Checkpoints = `training/${killedId}/stages/stage2/checkpoints/`;
      const stage2Logs = path.join(dir, 'cache', 'training', killedId, 'stage2', 'logs');
      let running: TrainerProcess[] = [];
      await until(
        async () => {
          const newest = await newestStoredCheckpoint(store, stage2Checkpoints);
          if (newest && newest.epoch >= stage2Epochs) throw new Error('stage 2 ended before the worker was killed');
          running = trainerProcesses(stage2Logs);
          return newest !== undefined;
        },
        240_000,
        'stage 2 stored a checkpoint',
      );
      gpu.kill('SIGKILL');
      await new Promise((resolve) => gpu.once('exit', resolve));

      // torchrun and its two ranks (each with a dataloader worker) were training; with the worker
      // gone the ranks stop themselves (PATHGEN_TRAIN_PARENT_PID) and torchrun ends with them.
      const torchrun = running.filter((p) => p.args.includes('torch.distributed.run'));
      expect(torchrun).toHaveLength(1);
      expect(running.filter((p) => p.ppid === torchrun[0]!.pid)).toHaveLength(2);
      await until(() => !running.some(stillRunning), 20_000, 'no process of the killed trainer remains');

      gpu = await startWorker(killedQueues, 'gpu');
      const [plainResult, killedResult] = await Promise.all([plain, killed.result()]);
      const [plain1, plain2] = plainResult.stages as [TrainStageResult, TrainStageResult];
      const [killed1, killed2] = killedResult.stages as [TrainStageResult, TrainStageResult];

      // The killed stage was retried and resumed from a stored epoch of its own, not from scratch.
      expect(killed2.attempt).toBeGreaterThanOrEqual(2);
      expect(killed2.resumedFromEpoch).toBeGreaterThanOrEqual(1);
      expect(killed2.resumedFromEpoch).toBeLessThan(stage2Epochs);
      const log = (await store.get(killed2.logKey)).toString('utf8');
      expect(log).toMatch(new RegExp(`resuming checkpoint .*epoch_${killed2.resumedFromEpoch}\\.pt`));
      expect(log).not.toMatch(/Start epoch 0\b/);
      expect(plain2).toMatchObject({ attempt: 1, resumedFromEpoch: 0 });

      // Both end with the same steps: half the steps one process would take, and the resumed
      // optimizer state counted every step before the kill too.
      for (const [stage, epochs] of [
        [0, 1],
        [1, stage2Epochs],
      ] as const) {
        expect(plainResult.stages[stage]!.steps).toBe(epochs * stepsPerEpoch);
        expect(killedResult.stages[stage]!.steps).toBe(epochs * stepsPerEpoch);
      }
      expect(await optimizerSteps(store, killed2.checkpointKey)).toBe(stage2Epochs * stepsPerEpoch);
      expect(await optimizerSteps(store, plain2.checkpointKey)).toBe(stage2Epochs * stepsPerEpoch);

      // Really distributed: open_clip's own record of each stage names two processes.
      for (const stage of [plain1, plain2, killed1, killed2]) {
        expect(stage.processesPerNode).toBe(2);
        const params = (await store.get(stage.paramsKey!)).toString('utf8');
        expect(params).toMatch(/^world_size: 2$/m);
        expect(params).toMatch(/^distributed: True$/m);
      }
      const lineage = JSON.parse((await store.get(killedResult.lineageKey)).toString('utf8')) as {
        processesPerNode: number;
      };
      expect(lineage.processesPerNode).toBe(2);
    } finally {
      await connection.close();
    }
  }, 420_000);
});
