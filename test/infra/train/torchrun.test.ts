import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathgenError } from '../../../activities/common/errors.js';
import { parseOpenClipLogLine, type TrainProgressEvent } from '../../../activities/train/open-clip-log.js';
import { launchArgs } from '../../../activities/train/processes-per-node.js';
import { runTrainerProcess } from '../../../activities/train/trainer-process.js';
import { repoRoot, requireTrainPython } from '../../../infra/harness/installed-tools.js';
import { stillRunning, trainerProcesses, type TrainerProcess } from '../../helpers/trainer-processes.js';
import { tinyTrainingArgs, trainerScript, writeSyntheticShards } from './train-python.js';

// infra/train/pathgen_train.py under torchrun with two processes on the CPU (gloo), started as the
// train activity starts it (launchArgs, runTrainerProcess): a real distributed run, and an abort
// that must take torchrun, both ranks and their dataloader workers down.

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

describe('pathgen_train.py under torchrun', () => {
  let work = '';
  let trainData = '';
  beforeAll(async () => {
    requireTrainPython();
    work = await mkdtemp(path.join(tmpdir(), 'pathgen-torchrun-'));
    // Two shards of 32: one shard and one dataloader worker per process.
    trainData = await writeSyntheticShards(work, 64, 32);
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it(
    'trains with two processes on half the data each, and stops every one of them on abort',
    { timeout: 180_000 },
    async () => {
      const logs = path.join(work, 'logs');
      const name = 'two-processes';
      const progress: TrainProgressEvent[] = [];
      let running: TrainerProcess[] = [];
      const abort = new AbortController();
      const trainer = runTrainerProcess({
        command: requireTrainPython(),
        args: launchArgs(2, [trainerScript, ...tinyTrainingArgs(trainData, 64, logs, name, 50)]),
        cwd: repoRoot,
        env: { ...process.env, PYTHONUNBUFFERED: '1' },
        signal: abort.signal,
        killGraceMs: 20_000,
        onLine: (line) => {
          const event = parseOpenClipLogLine(line);
          if (event?.kind !== 'progress') return;
          progress.push(event);
          // Epoch 0 is done and checkpointed: stop in the middle of the training.
          if (event.epoch === 1 && !abort.signal.aborted) {
            running = trainerProcesses(logs);
            abort.abort();
          }
        },
      }).catch((error: unknown) => error);

      const failure = await trainer;
      expect(failure).toBeInstanceOf(PathgenError);
      expect((failure as PathgenError).code).toBe('TrainerCancelled');

      // torchrun, and under it two ranks, each with a dataloader worker of its own.
      const torchrun = running.filter((p) => p.args.includes('torch.distributed.run'));
      expect(torchrun).toHaveLength(1);
      const ranks = running.filter((p) => p.ppid === torchrun[0]!.pid);
      expect(ranks).toHaveLength(2);
      expect(running.filter((p) => ranks.some((rank) => rank.pid === p.ppid))).toHaveLength(2);
      // Gone within seconds of the abort: torchrun forwards the SIGTERM to the ranks' own sessions.
      expect(await until(() => !running.some(stillRunning), 15_000), JSON.stringify(running)).toBe(true);

      // Really distributed: a step takes 16 samples from each process (32 in all), so an epoch of 64
      // samples is 2 steps, where one process would take 4.
      const epoch0 = progress.filter((event) => event.epoch === 0);
      expect(epoch0.map((event) => [event.samplesSeen, event.samplesPerEpoch])).toEqual([
        [32, 64],
        [64, 64],
      ]);
      const params = await readFile(path.join(logs, name, 'params.txt'), 'utf8');
      expect(params).toMatch(/^world_size: 2$/m);
      expect(params).toMatch(/^distributed: True$/m);
      expect(params).toMatch(/^device: cpu$/m);
      // Only rank 0 writes checkpoints, atomically as ever.
      expect(existsSync(path.join(logs, name, 'checkpoints', 'epoch_1.pt'))).toBe(true);
    },
  );
});
