import { PathgenError } from '../common/errors.js';
import { seededRandom } from '../common/seeded-random.js';
import type { FloatArray } from './adamw.js';

// ABMIL with gated attention (Ilse et al. 2018), in the form CLAM and TRIDENT use, over a slide's
// frozen patch features:
//   h_k = ReLU(W1 x_k + b1)                         (inputDim → hiddenDim, optional dropout after)
//   s_k = w · (tanh(V h_k + bV) ⊙ sigmoid(U h_k + bU))   (hiddenDim → attentionDim → 1)
//   a = softmax_k(s),  z = Σ_k a_k h_k,  logits = W2 z + b2
// The score layer has no bias: softmax ignores a shift, so its gradient would always be zero.
// Parameters live in one flat vector (float32 for training and storage, float64 for exact checks);
// sums over patches and features accumulate in float64. Backpropagation is written out by hand.
// This is the reference and the 'js' backend; training runs the same pass as an onnxruntime graph
// by default (abmil-onnx-graph.ts, abmil-kernels.ts), which test/eval holds to this one.
//
// This file holds the model: its configuration, its parameter layout and initialisation, and the
// checks on a slide; abmil-forward.ts runs the forward pass, abmil-gradient.ts the backward pass,
// both in the buffers of abmil-workspace.ts.

export interface AbmilConfig {
  inputDim: number;
  hiddenDim: number;
  attentionDim: number;
  classCount: number;
  /** Dropout rate on the hidden features, applied in training only (0 = off). */
  dropout: number;
}

export interface AbmilModel {
  config: AbmilConfig;
  /** Every parameter, in the order of `abmilParameterLayout`. */
  parameters: FloatArray;
}

/** A slide: `patchCount` rows of `inputDim` features, row-major. */
export interface SlideBag {
  features: Float32Array;
  patchCount: number;
}

export interface ParameterTensor {
  /** As a torch state_dict names it (see infra/harness/abmil-torch-reference.py). */
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export function abmilParameterLayout(config: AbmilConfig): ParameterTensor[] {
  const { inputDim: d, hiddenDim: h, attentionDim: a, classCount: c } = config;
  const shapes: [string, number[]][] = [
    ['fc.weight', [h, d]],
    ['fc.bias', [h]],
    // V and U adjacent: the forward pass computes both gates with one product.
    ['attentionV.weight', [a, h]],
    ['attentionU.weight', [a, h]],
    ['attentionV.bias', [a]],
    ['attentionU.bias', [a]],
    ['attentionW.weight', [1, a]],
    ['classifier.weight', [c, h]],
    ['classifier.bias', [c]],
  ];
  let offset = 0;
  return shapes.map(([name, shape]) => {
    const size = shape.reduce((p, n) => p * n, 1);
    const tensor = { name, shape, offset, size };
    offset += size;
    return tensor;
  });
}

export function abmilParameterCount(config: AbmilConfig): number {
  const last = abmilParameterLayout(config).at(-1)!;
  return last.offset + last.size;
}

/** The parameter vector cut into its tensors (views, no copies). */
export interface AbmilViews {
  fcWeight: FloatArray;
  fcBias: FloatArray;
  /** [V; U]: (2·attentionDim × hiddenDim). */
  gatesWeight: FloatArray;
  /** [bV; bU]. */
  gatesBias: FloatArray;
  scoreWeight: FloatArray;
  classifierWeight: FloatArray;
  classifierBias: FloatArray;
}

export function abmilViews(config: AbmilConfig, values: FloatArray): AbmilViews {
  const layout = abmilParameterLayout(config);
  const span = (first: number, last: number) =>
    values.subarray(layout[first]!.offset, layout[last]!.offset + layout[last]!.size);
  return {
    fcWeight: span(0, 0),
    fcBias: span(1, 1),
    gatesWeight: span(2, 3),
    gatesBias: span(4, 5),
    scoreWeight: span(6, 6),
    classifierWeight: span(7, 7),
    classifierBias: span(8, 8),
  };
}

export interface CreateAbmilOptions {
  inputDim: number;
  classCount: number;
  hiddenDim?: number;
  attentionDim?: number;
  dropout?: number;
  seed?: number;
}

/**
 * A new model initialised as torch.nn.Linear initialises itself (kaiming_uniform with a = √5, which
 * is U(−1/√fan_in, 1/√fan_in), for weights; the same range for biases), layer by layer, weight then
 * bias, from one seeded generator.
 */
export function createAbmil(options: CreateAbmilOptions): AbmilModel {
  const config: AbmilConfig = {
    inputDim: options.inputDim,
    hiddenDim: options.hiddenDim ?? 256,
    attentionDim: options.attentionDim ?? 128,
    classCount: options.classCount,
    dropout: options.dropout ?? 0,
  };
  validateConfig(config);
  const parameters = new Float32Array(abmilParameterCount(config));
  const random = seededRandom(options.seed ?? 0);
  for (const tensor of abmilParameterLayout(config)) {
    const bound = 1 / Math.sqrt(fanInOf(config, tensor.name));
    for (let i = tensor.offset; i < tensor.offset + tensor.size; i++) parameters[i] = (2 * random() - 1) * bound;
  }
  return { config, parameters };
}

/** The input width of the layer a tensor belongs to. */
function fanInOf(config: AbmilConfig, tensorName: string): number {
  if (tensorName.startsWith('fc.')) return config.inputDim;
  if (tensorName.startsWith('attentionW.')) return config.attentionDim;
  return config.hiddenDim;
}

function validateConfig(config: AbmilConfig): void {
  const dims = [config.inputDim, config.hiddenDim, config.attentionDim];
  if (!dims.every((n) => Number.isInteger(n) && n >= 1) || !Number.isInteger(config.classCount)) {
    throw new PathgenError('InvalidInput', 'ABMIL dimensions must be positive integers', { ...config });
  }
  if (config.classCount < 2) {
    throw new PathgenError('InvalidInput', 'ABMIL needs at least two classes', { classCount: config.classCount });
  }
  if (!(config.dropout >= 0 && config.dropout < 1)) {
    throw new PathgenError('InvalidInput', 'ABMIL dropout must be in [0, 1)', { dropout: config.dropout });
  }
}

/** The same model with float64 parameters: forward and backward then run in float64 throughout. */
export function abmilToFloat64(model: AbmilModel): AbmilModel {
  return { config: { ...model.config }, parameters: Float64Array.from(model.parameters) };
}

export function cloneAbmil(model: AbmilModel): AbmilModel {
  return { config: { ...model.config }, parameters: model.parameters.slice() };
}

/** 'InvalidInput' unless `bag` holds patchCount ≥ 1 rows of inputDim features and `label` is a class. */
export function checkSlide(config: AbmilConfig, bag: SlideBag, label?: number): void {
  const n = bag.patchCount;
  if (!Number.isInteger(n) || n < 1 || bag.features.length !== n * config.inputDim) {
    throw new PathgenError('InvalidInput', 'a slide bag must hold patchCount × inputDim features', {
      patchCount: n,
      inputDim: config.inputDim,
      features: bag.features.length,
    });
  }
  if (label !== undefined && !(Number.isInteger(label) && label >= 0 && label < config.classCount)) {
    throw new PathgenError('InvalidInput', 'slide label outside the classes', {
      label,
      classCount: config.classCount,
    });
  }
}
