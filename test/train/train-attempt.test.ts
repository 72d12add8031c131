import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { CheckpointSync } from '../../activities/train/checkpoints.js';
import { runTrainingAttempt } from '../../activities/train/train-attempt.js';
import type { AttemptProgress } from '../../activities/train/train-attempt.js';
import { TrainHyperparameters } from '../../activities/train/train-input.js';

// The attempt's handling of what the trainer prints, with a stand-in trainer: a shell script that
// writes open_clip's log lines (copied from a real run's format) and checkpoint files. The real
// trainer runs in test/train/train-workflow.services.test.ts.

const line = (epoch: number, seen: number, loss: string) =>
  `2026-11-29,11:37:16 | INFO | Train Epoch: ${epoch} [${seen}/64 (${Math.round((seen / 64) * 100)}%)] Data (t): 0.085 ` +
  `Batch (t): 1.891, 8.46000/s, 8.46000/s/gpu LR: 0.000500 Logit Scale: 14.286 Contrastive_loss: ${loss} (${loss}) Loss: ${loss} (${loss})`;

function fakeTrainer(dir: string, body: string[]): string {
  const script = path.join(dir, 'trainer.sh');
  writeFileSync(script, ['set -e', ...body].join('\n'));
  return script;
}

function setup(body: (checkpoints: string) => string[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-attempt-'));
  const checkpoints = path.join(dir, 'logs', 'attempt-1', 'checkpoints');
  mkdirSync(checkpoints, { recursive: true });
  const store = new FsObjectStore({ root: path.join(dir, 'store') });
  const sync = new CheckpointSync(store, checkpoints, 'training/t/stages/s/checkpoints/', 2);
  const script = fakeTrainer(dir, body(checkpoints));
  const progress: AttemptProgress[] = [];
  let cpu = false;
  const options = {
    // trainerArgs puts the script first, then open_clip's flags, which the stand-in ignores.
    python: 'bash',
    args: {
      script,
      model: 'pathgen-tiny',
      trainData: '/nowhere/shard-{000000..000001}.tar',
      samples: 64,
      hyperparameters: TrainHyperparameters.parse({ batchSize: 16, epochs: 2 }),
      logsDir: path.join(dir, 'logs'),
      name: 'attempt-1',
      forceQuickGelu: false,
      logEveryNSteps: 1,
    },
    sync,
    signal: new AbortController().signal,
    checkpointPollMs: 50,
    onProgress: (event: AttemptProgress) => progress.push(event),
    onCpuFallback: () => (cpu = true),
  };
  return { store, options, progress, cpu: () => cpu };
}

describe('a training attempt', () => {
  it('reports progress with 1-based epochs and steps, and stores each checkpoint as it is saved', async () => {
    const { store, options, progress, cpu } = setup((checkpoints) => [
      `echo "/x/distributed.py:134: UserWarning: Device cuda was not available, falling back to CPU." >&2`,
      `echo '${line(0, 32, '3.0350')}' >&2`,
      `echo '${line(0, 64, '2.5000')}' >&2`,
      `head -c 1000 /dev/urandom > ${checkpoints}/epoch_1.pt`,
      `echo "2026-11-29,11:37:17 | INFO | pathgen_train: saved checkpoint ${checkpoints}/epoch_1.pt" >&2`,
      `echo '${line(1, 64, '2.1000')}' >&2`,
      `head -c 1000 /dev/urandom > ${checkpoints}/epoch_2.pt`,
    ]);
    const outcome = await runTrainingAttempt(options);
    expect(cpu()).toBe(true);
    expect(progress.map((event) => [event.epoch, event.step, event.loss])).toEqual([
      [1, 2, 3.035],
      [1, 4, 2.5],
      [2, 8, 2.1],
    ]);
    expect(outcome.last?.loss).toBe(2.1);
    expect(await store.exists('training/t/stages/s/checkpoints/epoch_1.pt')).toBe(true);
    expect(await store.exists('training/t/stages/s/checkpoints/epoch_2.pt')).toBe(true);
  });

  it("runs the trainer after torchrun's flags and counts steps over every process", async () => {
    const { options, progress } = setup(() => [
      `echo '${line(0, 32, '3.0350')}' >&2`,
      `echo '${line(0, 64, '2.5000')}' >&2`,
    ]);
    // A stand-in for the training Python: it checks it was asked for torchrun, skips torchrun's
    // flags and runs the trainer that follows `--`.
    const python = path.join(path.dirname(options.args.script), 'python');
    writeFileSync(
      python,
      [
        '#!/bin/bash',
        '[ "$1 $2" = "-m torch.distributed.run" ] || exit 9',
        'while [ "$1" != "--" ]; do shift; done',
        'shift',
        'exec bash "$@"',
      ].join('\n'),
      { mode: 0o755 },
    );
    const outcome = await runTrainingAttempt({ ...options, python, args: { ...options.args, processesPerNode: 2 } });
    // 16 samples a process, 32 a step: 64 samples are 2 steps, not 4.
    expect(progress.map((event) => [event.epoch, event.step, event.samplesSeen])).toEqual([
      [1, 1, 32],
      [1, 2, 64],
    ]);
    expect(outcome.steps).toBe(2);
  });

  it('stops a trainer whose loss became NaN and fails as TrainingDiverged, not retryable', async () => {
    const { options } = setup(() => [`echo '${line(0, 32, 'nan')}' >&2`, 'sleep 30']);
    const started = Date.now();
    const failure = await runTrainingAttempt(options).catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(failure).toBeInstanceOf(PathgenError);
    expect((failure as PathgenError).code).toBe('TrainingDiverged');
    expect((failure as PathgenError).message).toMatch(/loss became NaN in epoch 1 .*lower the learning rate/);
  });

  it('fails with the last lines of the log when the trainer exits non-zero', async () => {
    const { options } = setup(() => [
      `echo "2026-11-29,11:37:14 | ERROR | pathgen_train: training failed: RuntimeError: model pathgen-huge not found" >&2`,
      'exit 1',
    ]);
    const failure = (await runTrainingAttempt(options).catch((error: unknown) => error)) as PathgenError;
    expect(failure.code).toBe('TrainerFailed');
    expect(failure.message).toContain('model pathgen-huge not found');
  });
});
