import { launchArgs } from './processes-per-node.js';
import type { TrainHyperparameters } from './train-input.js';

// The command line of one training attempt: infra/train/pathgen_train.py hands it to open_clip's
// trainer unchanged, so every flag after the script is open_clip's own; with several processes per
// node, torchrun's flags come first (processes-per-node.ts).

export interface TrainerArgsInput {
  script: string;
  model: string;
  /** `::`-joined brace patterns over local shard files. */
  trainData: string;
  samples: number;
  hyperparameters: TrainHyperparameters;
  /** open_clip writes <logs>/<name>/{out.log, params.txt, checkpoints/}. */
  logsDir: string;
  name: string;
  pretrained?: string;
  forceQuickGelu: boolean;
  resumeFrom?: string;
  /** Steps between progress lines: what the heartbeat can show. */
  logEveryNSteps: number;
  /** Trainer processes under torchrun; 1 (the default): the script alone, no torchrun. */
  processesPerNode?: number;
}

export function trainerArgs(input: TrainerArgsInput): string[] {
  const h = input.hyperparameters;
  return launchArgs(input.processesPerNode ?? 1, [
    input.script,
    ...['--model', input.model],
    ...['--train-data', input.trainData],
    ...['--train-num-samples', String(input.samples)],
    ...['--dataset-type', 'webdataset'],
    ...['--batch-size', String(h.batchSize)],
    ...['--epochs', String(h.epochs)],
    ...['--lr', String(h.lr)],
    ...['--warmup', String(h.warmup)],
    ...['--wd', String(h.weightDecay)],
    ...['--precision', h.precision],
    ...['--workers', String(h.workers)],
    ...['--seed', String(h.seed)],
    ...['--logs', input.logsDir],
    ...['--name', input.name],
    // A checkpoint every epoch: the unit a lost machine costs at most.
    ...['--save-frequency', '1'],
    ...['--log-every-n-steps', String(input.logEveryNSteps)],
    ...(input.pretrained !== undefined ? ['--pretrained', input.pretrained] : []),
    ...(input.forceQuickGelu ? ['--force-quick-gelu'] : []),
    ...(input.resumeFrom !== undefined ? ['--resume', input.resumeFrom] : []),
    ...h.extraArgs,
  ]);
}
