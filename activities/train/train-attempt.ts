import { PathgenError } from '../common/errors.js';
import type { CheckpointSync } from './checkpoints.js';
import { parseOpenClipLogLine, progressStep } from './open-clip-log.js';
import { globalBatchSize } from './processes-per-node.js';
import type { TrainProgressEvent } from './open-clip-log.js';
import { trainerArgs } from './trainer-args.js';
import type { TrainerArgsInput } from './trainer-args.js';
import { runTrainerProcess } from './trainer-process.js';

// One run of the trainer for a stage: the process, its log turned into progress, checkpoints sent
// to the store as they complete, and the failures open_clip itself lets pass: a loss that turned
// NaN (open_clip trains on and exits 0) stops the run at once.

export interface AttemptProgress {
  /** 1-based epoch being trained. */
  epoch: number;
  step: number;
  samplesSeen: number;
  samplesPerEpoch: number;
  loss: number;
  samplesPerSecond: number;
  lr: number;
}

export interface TrainingAttemptOptions {
  python: string;
  args: TrainerArgsInput;
  sync: CheckpointSync;
  signal: AbortSignal;
  onProgress: (progress: AttemptProgress) => void;
  /** open_clip found no CUDA device and trains on the CPU. */
  onCpuFallback: () => void;
  checkpointPollMs: number;
}

export interface AttemptOutcome {
  last: TrainProgressEvent | undefined;
  /** Optimizer steps from the start of training at the last progress line (null: none logged). */
  steps: number | null;
}

export async function runTrainingAttempt(options: TrainingAttemptOptions): Promise<AttemptOutcome> {
  const { sync } = options;
  const stop = new AbortController();
  const abort = () => stop.abort(options.signal.reason);
  if (options.signal.aborted) abort();
  options.signal.addEventListener('abort', abort, { once: true });
  const batch = globalBatchSize(options.args.hyperparameters.batchSize, options.args.processesPerNode ?? 1);
  let diverged: TrainProgressEvent | undefined;
  let last: TrainProgressEvent | undefined;
  const timer = setInterval(() => {
    if (!sync.busy) sync.sync().catch(() => undefined);
  }, options.checkpointPollMs);
  try {
    await runTrainerProcess({
      command: options.python,
      args: trainerArgs(options.args),
      env: { ...process.env, PYTHONUNBUFFERED: '1', PATHGEN_TRAIN_PARENT_PID: String(process.pid) },
      signal: stop.signal,
      onLine: (line) => {
        const event = parseOpenClipLogLine(line);
        if (!event) return;
        // pathgen_train.py says when a checkpoint is whole: store it now rather than at the next poll.
        if (event.kind === 'checkpointSaved') sync.sync().catch(() => undefined);
        if (event.kind === 'warning' && /falling back to CPU/i.test(event.message)) options.onCpuFallback();
        if (event.kind !== 'progress') return;
        last = event;
        if (!Number.isFinite(event.loss) && !diverged) {
          diverged = event;
          stop.abort();
          return;
        }
        options.onProgress({
          // open_clip numbers epochs from 0 in its log; people count them from 1.
          epoch: event.epoch + 1,
          step: progressStep(event, batch),
          samplesSeen: event.samplesSeen,
          samplesPerEpoch: event.samplesPerEpoch,
          loss: event.loss,
          samplesPerSecond: event.samplesPerSecond,
          lr: event.lr,
        });
      },
    });
  } catch (error) {
    if (diverged && !options.signal.aborted) {
      // Retrying the same settings from the last checkpoint diverges again: a person must act.
      throw new PathgenError(
        'TrainingDiverged',
        `the loss became ${diverged.loss} in epoch ${diverged.epoch + 1} (lr ${diverged.lr}, precision ` +
          `${options.args.hyperparameters.precision}); lower the learning rate or use fp32/bf16, then rerun`,
        { epoch: diverged.epoch + 1, loss: String(diverged.loss), lr: diverged.lr },
      );
    }
    throw error;
  } finally {
    clearInterval(timer);
    options.signal.removeEventListener('abort', abort);
  }
  await sync.sync();
  return { last, steps: last ? progressStep(last, batch) : null };
}
