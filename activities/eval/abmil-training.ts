import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { PathgenError } from '../common/errors.js';
import { seededRandom } from '../common/seeded-random.js';
import { checkSlide, cloneAbmil, createAbmil } from './abmil-model.js';
import type { AbmilModel, SlideBag } from './abmil-model.js';
import { crossEntropy, openAbmilKernels } from './abmil-kernels.js';
import type { AbmilBackend, AbmilKernels } from './abmil-kernels.js';
import { adamWStep, cosineAnnealingLr, createAdamW } from './adamw.js';

// ABMIL training the way PathGen evaluates slide tasks: one slide per optimiser step, AdamW (lr 1e-4,
// weight decay 1e-5), cosine schedule, 50 epochs. The schedule is torch's CosineAnnealingLR with
// T_max = epochs × slides, stepped after every slide rather than every epoch: the learning rate then
// falls smoothly instead of in 50 stairs; over 50 epochs the two differ by at most one epoch's worth
// of decay.
// With a validation split, the model kept is the one with the lowest mean validation loss, and training
// stops once `patience` epochs pass without a new lowest (CLAM's rule; the schedule keeps its length).
// Each slide's forward and backward pass runs on abmil-kernels.ts's backend: onnxruntime by default
// (float32, one thread, so the same seed gives the same model on any machine), or plain JS.

export interface SlideExample {
  bag: SlideBag;
  /** Class index. */
  label: number;
}

export interface TrainAbmilOptions {
  classCount: number;
  hiddenDim?: number;
  attentionDim?: number;
  dropout?: number;
  /** Start from these weights instead of a fresh seeded initialisation (the config comes with them). */
  initialModel?: AbmilModel;
  epochs?: number;
  lr?: number;
  weightDecay?: number;
  /** Initialisation, shuffling and dropout all derive from it. */
  seed?: number;
  validation?: readonly SlideExample[];
  /** Epochs without a lower validation loss before stopping (validation only). */
  patience?: number;
  /** Called after each epoch (1-based), awaited: the activity heartbeats here. */
  onEpoch?: (epoch: number, meanLoss: number, validationLoss?: number) => void | Promise<void>;
  /** Checked between steps. */
  signal?: AbortSignal;
  /** 'onnx' (default) or 'js' (abmil-kernels.ts). */
  kernels?: AbmilBackend;
  /** onnxruntime intra-op threads (default 1; more is faster but may change the last bits). */
  threads?: number;
}

export interface TrainAbmilResult {
  model: AbmilModel;
  /** Mean training loss of each epoch run. */
  epochLosses: number[];
  /** Mean validation loss after each epoch; empty without a validation split. */
  validationLosses: number[];
  /** The epoch (1-based) whose weights were kept. */
  bestEpoch: number;
  stoppedEarly: boolean;
  steps: number;
}

export const abmilTrainingDefaults = { epochs: 50, lr: 1e-4, weightDecay: 1e-5, seed: 0, patience: 10 } as const;

export async function trainAbmil(
  train: readonly SlideExample[],
  options: TrainAbmilOptions,
): Promise<TrainAbmilResult> {
  const { epochs, lr, weightDecay, seed, patience } = { ...abmilTrainingDefaults, ...definedOnly(options) };
  const first = train[0];
  if (!first) throw new PathgenError('InvalidInput', 'ABMIL training needs at least one slide', {});
  if (!(Number.isInteger(epochs) && epochs >= 1 && lr > 0 && Number.isInteger(patience) && patience >= 1)) {
    throw new PathgenError('InvalidInput', 'ABMIL training needs epochs ≥ 1, lr > 0 and patience ≥ 1', {
      epochs,
      lr,
      patience,
    });
  }
  const model = options.initialModel
    ? cloneAbmil(options.initialModel)
    : createAbmil({
        inputDim: first.bag.patchCount > 0 ? first.bag.features.length / first.bag.patchCount : 0,
        classCount: options.classCount,
        hiddenDim: options.hiddenDim,
        attentionDim: options.attentionDim,
        dropout: options.dropout,
        seed,
      });
  if (model.config.classCount !== options.classCount) {
    throw new PathgenError('InvalidInput', 'the initial model has a different number of classes', {
      model: model.config.classCount,
      classCount: options.classCount,
    });
  }

  const kernels = openAbmilKernels(model.config, { backend: options.kernels, threads: options.threads });
  try {
    return await runEpochs(train, model, kernels, options, { epochs, lr, weightDecay, seed, patience });
  } finally {
    await kernels.release();
  }
}

async function runEpochs(
  train: readonly SlideExample[],
  model: AbmilModel,
  kernels: AbmilKernels,
  options: TrainAbmilOptions,
  settings: { [Key in keyof typeof abmilTrainingDefaults]: number },
): Promise<TrainAbmilResult> {
  const { epochs, lr, weightDecay, seed, patience } = settings;
  const gradient = model.parameters.slice().fill(0);
  const optimizer = createAdamW(model.parameters.length, { weightDecay });
  const orders = trainingOrder(train.length, epochs, seed);
  const dropoutRandom = seededRandom((seed + 2) >>> 0);
  const totalSteps = epochs * train.length;
  const validation = options.validation ?? [];
  const result: TrainAbmilResult = {
    model,
    epochLosses: [],
    validationLosses: [],
    bestEpoch: 0,
    stoppedEarly: false,
    steps: 0,
  };
  let best = Infinity;

  for (const [epochIndex, order] of orders.entries()) {
    let lossSum = 0;
    for (const index of order) {
      options.signal?.throwIfAborted();
      const example = train[index]!;
      const loss = await kernels.lossAndGradient(model, example.bag, example.label, gradient, dropoutRandom);
      if (!Number.isFinite(loss)) {
        throw new PathgenError('TrainingDiverged', 'ABMIL training loss is not finite', {
          epoch: epochIndex + 1,
          step: result.steps,
        });
      }
      adamWStep(optimizer, model.parameters, gradient, cosineAnnealingLr(lr, result.steps, totalSteps));
      result.steps += 1;
      lossSum += loss;
      // A slide can take a good part of a second on the js backend: let heartbeats and cancellation through.
      await yieldToEventLoop();
    }
    const epoch = epochIndex + 1;
    const meanLoss = lossSum / train.length;
    result.epochLosses.push(meanLoss);
    if (validation.length === 0) {
      result.bestEpoch = epoch;
      await options.onEpoch?.(epoch, meanLoss);
      continue;
    }
    const validationLoss = await meanLossOf(model, validation, kernels);
    result.validationLosses.push(validationLoss);
    if (validationLoss < best) {
      best = validationLoss;
      result.bestEpoch = epoch;
      result.model = cloneAbmil(model);
    }
    await options.onEpoch?.(epoch, meanLoss, validationLoss);
    if (epoch - result.bestEpoch >= patience && epoch < epochs) {
      result.stoppedEarly = true;
      break;
    }
  }
  return result;
}

/** Mean cross-entropy over slides, without dropout (on the default backend unless `kernels` are given). */
export async function meanLossOf(
  model: AbmilModel,
  examples: readonly SlideExample[],
  kernels?: AbmilKernels,
): Promise<number> {
  const used = kernels ?? openAbmilKernels(model.config);
  try {
    let sum = 0;
    for (const example of examples) {
      checkSlide(model.config, example.bag, example.label);
      sum += crossEntropy((await used.predict(model, example.bag)).logits, example.label);
    }
    return sum / examples.length;
  } finally {
    if (!kernels) await used.release();
  }
}

/** The slide order of each epoch: a seeded Fisher–Yates shuffle per epoch, from one generator. */
export function trainingOrder(slideCount: number, epochs: number, seed: number): number[][] {
  const random = seededRandom((seed + 1) >>> 0);
  const orders: number[][] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = Array.from({ length: slideCount }, (_, i) => i);
    for (let i = slideCount - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    orders.push(order);
  }
  return orders;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
