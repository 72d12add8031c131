import { execFile } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadClipModel } from '../../activities/clip/index.js';
import { workflowIds } from '../../activities/contracts/keys.js';
import { fetchClipModelDirectory } from '../../activities/clip/model-directory.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { listAll } from '../../activities/store/object-store.js';
import { newestStoredCheckpoint } from '../../activities/train/checkpoints.js';
import type { TrainHeartbeat, TrainStageResult } from '../../activities/stages/train.js';
import type { pathgenTrain } from '../../workflows/train.js';
import { startWorkerProcess } from '../helpers/cli-process.js';
import { connectTestClient, uniqueQueues, workerProcessEnv } from '../helpers/temporal.js';
import { requireTrainPython } from '../../infra/harness/installed-tools.js';
import { writeSyntheticExport } from '../../workers/synthetic/datasets/synthetic-export.js';

const execFileAsync = promisify(execFile);

// A real open_clip training run of a tiny CLIP on CPU through pathgenTrain, with the GPU worker
// SIGKILLed in the middle of stage 2: the retry resumes from the newest stored checkpoint, not from
// scratch, and the exported model loads where the select stage loads models.

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/**
 * A temporary folder with an fs store holding a synthetic export, a config that puts the slide cache
 * in it and heartbeats every second, and the environment of worker processes on the test's queues.
 */
async function trainingSetUp(label: string, exportRun: string, samples: number) {
  const python = requireTrainPython();
  const dir = mkdtempSync(path.join(os.tmpdir(), `pathgen-${label}-`));
  const store = new FsObjectStore({ root: path.join(dir, 'store') });
  await writeSyntheticExport(store, exportRun, { samples, samplesPerShard: 160 });
  writeFileSync(
    path.join(dir, 'config.yaml'),
    `slideCache:\n  dir: ${path.join(dir, 'cache')}\nworkers:\n  gpu:\n    heartbeatThrottleSeconds: 1\n`,
  );
  const queues = uniqueQueues(label);
  const env = workerProcessEnv(queues, dir, {
    PATHGEN_CONFIG: path.join(dir, 'config.yaml'),
    PATHGEN_TRAIN_PYTHON: python,
  });
  return { dir, store, queues, env };
}

describe('pathgenTrain', () => {
  it('trains two stages, survives a killed worker by resuming, and registers an ONNX model', async () => {
    const runId = 'synthetic-export';
    // Enough samples that an epoch takes seconds, so the worker can be killed between checkpoints.
    const { dir, store, queues, env } = await trainingSetUp('train', runId, 640);
    const startWorker = async (queueList: string) => {
      const child = await startWorkerProcess(['--queues', queueList, '--log-level', 'ERROR'], env);
      children.push(child);
      return child;
    };
    // Workflows on their own worker; the GPU worker is the one that dies.
    await startWorker('cpu');
    let gpu = await startWorker('gpu');

    const trainId = `t-${randomUUID().slice(0, 8)}`;
    const hyperparameters = { batchSize: 32, lr: 1e-3, warmup: 2, precision: 'fp32', workers: 1, seed: 3 } as const;
    const input = {
      trainId,
      model: 'pathgen-tiny',
      stages: [
        { name: 'stage1', datasets: [{ exportRun: runId }], hyperparameters: { ...hyperparameters, epochs: 1 } },
        { name: 'stage2', datasets: [{ exportRun: runId }], hyperparameters: { ...hyperparameters, epochs: 5 } },
      ],
    };
    const { client, connection } = await connectTestClient();
    try {
      const handle = await client.workflow.start<typeof pathgenTrain>('pathgenTrain', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.train(trainId),
        args: [{ ...input, heartbeatTimeout: '8s' }],
      });
      const stage2Checkpoints = `training/${trainId}/stages/stage2/checkpoints/`;
      const seen: TrainHeartbeat[] = [];
      const deadline = Date.now() + 240_000;
      // Watch the heartbeat until stage 2 has stored its second checkpoint, then kill the GPU worker.
      for (;;) {
        if (Date.now() > deadline)
          throw new Error(`stage 2 never stored epoch_2.pt; heartbeats: ${JSON.stringify(seen)}`);
        const newest = await newestStoredCheckpoint(store, stage2Checkpoints);
        if (newest && newest.epoch >= 5) throw new Error('stage 2 finished before the worker could be killed');
        if (newest && newest.epoch >= 2) break;
        const description = await handle.describe();
        for (const activity of description.raw.pendingActivities ?? []) {
          const payload = activity.heartbeatDetails?.payloads?.[0];
          if (payload?.data) seen.push(JSON.parse(Buffer.from(payload.data).toString('utf8')) as TrainHeartbeat);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      gpu.kill('SIGKILL');
      await new Promise((resolve) => gpu.once('exit', resolve));
      gpu = await startWorker('gpu');
      const result = await handle.result();

      // Progress was visible: epoch, step, loss and throughput in the heartbeat details.
      const training = seen.filter((beat) => beat.phase === 'training' && beat.loss !== undefined);
      expect(training.length).toBeGreaterThan(0);
      expect(training.at(-1)).toMatchObject({ stage: expect.any(String), epochs: expect.any(Number) });
      expect(training.every((beat) => Number.isFinite(beat.loss) && beat.epoch! >= 1)).toBe(true);
      expect(training.some((beat) => (beat.samplesPerSecond ?? 0) > 0)).toBe(true);

      const [stage1, stage2] = result.stages as [TrainStageResult, TrainStageResult];
      expect(stage1).toMatchObject({ stage: 'stage1', epochs: 1, resumedFromEpoch: 0, attempt: 1 });
      // Stage 2 started from stage 1's checkpoint and, after the kill, resumed from a stored epoch.
      expect(stage2.initialWeights).toBe(stage1.checkpointKey);
      expect(stage2.attempt).toBeGreaterThanOrEqual(2);
      expect(stage2.resumedFromEpoch).toBeGreaterThanOrEqual(2);
      expect(stage2.checkpointKey).toBe(`${stage2Checkpoints}epoch_5.pt`);
      // Two checkpoints are kept per stage by default: the last two epochs.
      const kept = [];
      for await (const object of listAll(store, stage2Checkpoints)) kept.push(path.posix.basename(object.key));
      expect(kept.sort()).toEqual(['epoch_4.pt', 'epoch_5.pt']);
      const log = (await store.get(stage2.logKey)).toString('utf8');
      expect(log).toMatch(new RegExp(`resuming checkpoint .*epoch_${stage2.resumedFromEpoch}\\.pt`));
      expect(log).not.toMatch(/Start epoch 0\b/);

      // The model: registered, with lineage naming the data's shard hashes and the parent checkpoint.
      expect(result.model).toMatchObject({
        modelId: trainId,
        modelRef: `models/${trainId}`,
        embedDim: 64,
        imageSize: 64,
      });
      const lineage = JSON.parse((await store.get(result.lineageKey)).toString('utf8')) as {
        stages: {
          parentCheckpoint: string | null;
          datasets: { shardHashes: { sha256: string }[]; exportVersion: string }[];
        }[];
        checkpointKey: string;
      };
      expect(lineage.checkpointKey).toBe(stage2.checkpointKey);
      expect(lineage.stages[1]!.parentCheckpoint).toBe(stage1.checkpointKey);
      expect(lineage.stages[0]!.datasets[0]!.exportVersion).toBe('v1');
      expect(lineage.stages[0]!.datasets[0]!.shardHashes).toHaveLength(4);
      expect(lineage.stages[0]!.datasets[0]!.shardHashes.every((shard) => /^[0-9a-f]{64}$/.test(shard.sha256))).toBe(
        true,
      );

      // It loads as the select stage loads a store model, and embeds.
      const fetched = await fetchClipModelDirectory(store, result.model.modelRef, path.join(dir, 'models'));
      const model = await loadClipModel(fetched.dir);
      try {
        const texts = await model.embedTexts(['pale pink stroma', 'crowded nuclei']);
        expect(texts).toHaveLength(2 * 64);
      } finally {
        await model.dispose();
      }

      // Running the workflow again finds every stage and the model done.
      const again = await client.workflow.execute<typeof pathgenTrain>('pathgenTrain', {
        taskQueue: queues.cpu,
        workflowId: `${workflowIds.train(trainId)}-again`,
        args: [input],
      });
      expect(again.model.written).toBe(false);
      expect(again.stages.map((stage) => stage.checkpointKey)).toEqual([stage1.checkpointKey, stage2.checkpointKey]);
    } finally {
      await connection.close();
    }
  }, 420_000);

  it('stops the trainer and its process group when the workflow is cancelled', async () => {
    const { store, queues, env } = await trainingSetUp('train-cancel', 'cancel-export', 320);
    children.push(await startWorkerProcess(['--queues', 'cpu,gpu', '--log-level', 'ERROR'], env));
    const trainId = `c-${randomUUID().slice(0, 8)}`;
    const trainerRunning = async () => {
      const { stdout } = await execFileAsync('pgrep', ['-f', `pathgen_train.py.*${trainId}`]).catch(() => ({
        stdout: '',
      }));
      return stdout.trim() !== '';
    };
    const { client, connection } = await connectTestClient();
    try {
      const handle = await client.workflow.start<typeof pathgenTrain>('pathgenTrain', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.train(trainId),
        args: [
          {
            trainId,
            model: 'pathgen-tiny',
            stages: [
              {
                name: 'long',
                datasets: [{ exportRun: 'cancel-export' }],
                hyperparameters: { batchSize: 32, epochs: 200, precision: 'fp32', workers: 1 },
              },
            ],
          },
        ],
      });
      const deadline = Date.now() + 120_000;
      while (!(await store.exists(`training/${trainId}/stages/long/checkpoints/epoch_1.pt`))) {
        if (Date.now() > deadline) throw new Error('the first epoch never finished');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(await trainerRunning()).toBe(true);
      await handle.cancel();
      const failure = await handle.result().catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      // The trainer and its dataloader workers are gone within seconds, not at the end of 200 epochs.
      const stopBy = Date.now() + 30_000;
      while (await trainerRunning()) {
        if (Date.now() > stopBy) throw new Error('the trainer outlived its cancelled workflow');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const description = await handle.describe();
      expect(description.status.name).toBe('CANCELLED');
    } finally {
      await connection.close();
    }
  }, 300_000);

  it('fails at once, without retries, for initial weights that are nowhere', async () => {
    const { queues, env } = await trainingSetUp('train-weights', 'weights-export', 160);
    children.push(await startWorkerProcess(['--queues', 'cpu,gpu', '--log-level', 'ERROR'], env));
    const trainId = `w-${randomUUID().slice(0, 8)}`;
    const { client, connection } = await connectTestClient();
    try {
      const failure = await client.workflow
        .execute<typeof pathgenTrain>('pathgenTrain', {
          taskQueue: queues.cpu,
          workflowId: workflowIds.train(trainId),
          args: [
            {
              trainId,
              model: 'pathgen-tiny',
              pretrained: 'weights/stage0/epoch_9.pt',
              stages: [{ name: 's', datasets: [{ exportRun: 'weights-export' }] }],
            },
          ],
        })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const cause = (failure as WorkflowFailedError).cause?.cause as { type?: string; message?: string } | undefined;
      expect(cause?.type).toBe('InvalidTrainInput');
      expect(cause?.message).toContain('weights/stage0/epoch_9.pt are neither a file on this machine nor an object in');
    } finally {
      await connection.close();
    }
  }, 120_000);
});
