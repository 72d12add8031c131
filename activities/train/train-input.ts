import { z } from 'zod';
import { PathgenError } from '../common/errors.js';
import { inputProblems } from '../common/input-problems.js';

// What `pathgenTrain` takes, checked once by the prepare activity so that a typo fails in seconds
// with the field named, not after an hour of staging shards on a GPU box.

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const id = z.string().regex(idPattern, 'letters, digits, . _ - (at most 128), starting with a letter or digit');

const datasetRef = z.union([
  z.strictObject({
    /** A pathgen run whose export (its LATEST version) is the data. */
    exportRun: id,
    /** Default `exports/<exportRun>`. */
    exportPrefix: z.string().min(1).optional(),
  }),
  z.strictObject({
    /** WebDataset shards: a brace pattern of store keys, or of local files (absolute path / file://). */
    shards: z.string().min(1),
    /** Samples in those shards (open_clip's --train-num-samples needs it). */
    samples: z.number().int().positive(),
    name: id.optional(),
  }),
]);

/**
 * open_clip's hyperparameters. Defaults are for fine-tuning an OpenAI-initialised CLIP on a few
 * hundred thousand pairs (PathGen does not publish its own); every field can be set per stage.
 */
export const TrainHyperparameters = z.strictObject({
  batchSize: z.number().int().positive().default(256),
  epochs: z.number().int().positive().default(10),
  lr: z.number().positive().default(1e-5),
  /** Warm-up steps (open_clip counts steps, not epochs). */
  warmup: z.number().int().nonnegative().default(500),
  weightDecay: z.number().nonnegative().default(0.1),
  precision: z
    .enum(['amp', 'amp_bf16', 'amp_bfloat16', 'bf16', 'fp16', 'fp32', 'pure_bf16', 'pure_fp16'])
    .default('amp'),
  /** Dataloader processes per GPU. */
  workers: z.number().int().nonnegative().default(8),
  seed: z.number().int().nonnegative().default(0),
  /** More open_clip flags, passed as they are (e.g. ["--grad-checkpointing", "--lock-image"]). */
  extraArgs: z.array(z.string()).default([]),
});
export type TrainHyperparameters = z.infer<typeof TrainHyperparameters>;

const stage = z.strictObject({
  name: id,
  datasets: z.array(datasetRef).min(1),
  hyperparameters: TrainHyperparameters.default(TrainHyperparameters.parse({})),
});

export const TrainInput = z.strictObject({
  trainId: id,
  /** An open_clip model name (ViT-B-16, ViT-L-14-336, …) or one of infra/train/model-configs/. */
  model: z.string().min(1),
  /**
   * Initial weights: a local file, a store key / s3:// URI of an open_clip checkpoint, or an
   * open_clip pretrained tag where the machine can download it. None: random initialisation.
   */
  pretrained: z.string().min(1).optional(),
  /** QuickGELU, as OpenAI-initialised models (and PathGen-CLIP) use. */
  forceQuickGelu: z.boolean().default(false),
  /**
   * Trainer processes on the machine that runs a stage: more than 1 runs open_clip under torchrun,
   * one process per GPU (NCCL; gloo on CPU). It is part of the training, not of the machine's
   * config: --batch-size is per process, so this sets the global batch (batchSize × processesPerNode)
   * and with it the steps per epoch and the schedule, and the same input must train the same way on
   * whichever worker takes it. One value for all stages, which run on the same queue's machines;
   * a stage that wants another global batch sets its own batchSize.
   */
  processesPerNode: z.number().int().positive().max(64).default(1),
  /** Stages in order; each after the first starts from the previous stage's last checkpoint. */
  stages: z.array(stage).min(1),
  /** Where the trained model is registered: `models/<modelId>/`. Default: the train id. */
  export: z
    .strictObject({
      modelId: id.optional(),
      name: z.string().min(1).optional(),
      version: z.string().min(1).optional(),
    })
    .default({}),
  /**
   * Checkpoints kept in the store per stage, newest first (the last epoch's always stays): each holds
   * the optimizer state too (≈ 1.7 GB for ViT-B/16). 0 keeps every epoch.
   */
  keepCheckpoints: z.number().int().nonnegative().default(2),
  /** How long a training attempt may stay silent before it counts as lost (Temporal duration). */
  heartbeatTimeout: z.string().min(1).default('2m'),
});
export type TrainInput = z.input<typeof TrainInput>;
export type ResolvedTrainInput = z.output<typeof TrainInput>;
export type TrainStageSpec = ResolvedTrainInput['stages'][number];

export function parseTrainInput(input: unknown): ResolvedTrainInput {
  const parsed = TrainInput.safeParse(input);
  if (!parsed.success) {
    const problems = inputProblems(parsed.error);
    throw new PathgenError('InvalidTrainInput', `invalid training input: ${problems.join('; ')}`, { problems });
  }
  const names = parsed.data.stages.map((s) => s.name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) {
    throw new PathgenError('InvalidTrainInput', `stage name ${repeated} is used twice`, { stage: repeated });
  }
  return parsed.data;
}
