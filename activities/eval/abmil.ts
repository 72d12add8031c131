import { PathgenError } from '../common/errors.js';
import { seededRandom } from '../common/seeded-random.js';
import type { FloatArray } from './adamw.js';
import { multiplyTransposed, transpose } from './dense-kernels.js';

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

interface AbmilViews {
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

function views(config: AbmilConfig, values: FloatArray): AbmilViews {
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

/** Buffers reused across slides; they grow to the largest bag seen. */
export class AbmilWorkspace {
  capacity = 0;
  /** Hidden features after ReLU and dropout (n × hiddenDim). */
  hidden: FloatArray;
  /** tanh(V h) then sigmoid(U h) per patch (n × 2·attentionDim). */
  gates: FloatArray;
  attention = new Float64Array(0);
  // Backward only.
  attentionGrad = new Float64Array(0);
  gatesGrad: FloatArray;
  gatesGradT: FloatArray;
  hiddenT: FloatArray;
  hiddenGrad: FloatArray;
  hiddenGradT: FloatArray;
  featuresT: FloatArray;
  readonly gatesWeightT: FloatArray;
  readonly pooled: Float64Array;
  readonly pooledGrad: Float64Array;
  readonly logits: Float64Array;
  readonly probabilities: Float64Array;
  readonly biasSums: Float64Array;

  constructor(private readonly model: AbmilModel) {
    const { hiddenDim: h, attentionDim: a, classCount } = model.config;
    const empty = allocateLike(model.parameters, 0);
    this.hidden = this.gates = this.gatesGrad = this.gatesGradT = empty;
    this.hiddenT = this.hiddenGrad = this.hiddenGradT = this.featuresT = empty;
    this.gatesWeightT = allocateLike(model.parameters, 2 * a * h);
    this.pooled = new Float64Array(h);
    this.pooledGrad = new Float64Array(h);
    this.logits = new Float64Array(classCount);
    this.probabilities = new Float64Array(classCount);
    this.biasSums = new Float64Array(h + 3 * a);
  }

  reserve(patchCount: number, backward: boolean): void {
    const { inputDim: d, hiddenDim: h, attentionDim: a } = this.model.config;
    const like = this.model.parameters;
    if (this.capacity < patchCount) {
      this.hidden = allocateLike(like, patchCount * h);
      this.gates = allocateLike(like, patchCount * 2 * a);
      this.attention = new Float64Array(patchCount);
      this.capacity = patchCount;
    }
    if (backward && this.attentionGrad.length < patchCount) {
      this.attentionGrad = new Float64Array(patchCount);
      this.gatesGrad = allocateLike(like, patchCount * 2 * a);
      this.gatesGradT = allocateLike(like, patchCount * 2 * a);
      this.hiddenT = allocateLike(like, patchCount * h);
      this.hiddenGrad = allocateLike(like, patchCount * h);
      this.hiddenGradT = allocateLike(like, patchCount * h);
      this.featuresT = allocateLike(like, patchCount * d);
    }
  }
}

function allocateLike(template: FloatArray, length: number): FloatArray {
  return template instanceof Float64Array ? new Float64Array(length) : new Float32Array(length);
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

/**
 * Forward pass into `ws`; returns the cross-entropy for `label` (NaN without one). `random` turns
 * dropout on (training); without it dropout is off.
 */
export function abmilForward(
  model: AbmilModel,
  bag: SlideBag,
  ws: AbmilWorkspace,
  label?: number,
  random?: () => number,
): number {
  return forward(model, bag, ws, label, random, false);
}

function forward(
  model: AbmilModel,
  bag: SlideBag,
  ws: AbmilWorkspace,
  label: number | undefined,
  random: (() => number) | undefined,
  backward: boolean,
): number {
  const { inputDim: d, hiddenDim: h, attentionDim: a, classCount: c, dropout } = model.config;
  const n = bag.patchCount;
  checkSlide(model.config, bag, label);
  const p = views(model.config, model.parameters);
  ws.reserve(n, backward);
  const { hidden, gates, attention, pooled, logits, probabilities } = ws;

  multiplyTransposed(bag.features, n, d, p.fcWeight, h, hidden, p.fcBias);
  const dropping = random !== undefined && dropout > 0;
  const keepScale = 1 / (1 - dropout);
  for (let i = 0; i < n * h; i++) {
    const value = hidden[i]! > 0 ? hidden[i]! : 0;
    hidden[i] = dropping ? (random() < dropout ? 0 : value * keepScale) : value;
  }

  multiplyTransposed(hidden, n, h, p.gatesWeight, 2 * a, gates, p.gatesBias);
  let maxScore = -Infinity;
  for (let k = 0; k < n; k++) {
    let score = 0;
    for (let q = 0, t = k * 2 * a, s = t + a; q < a; q++, t++, s++) {
      const tanh = Math.tanh(gates[t]!);
      const sigmoid = 1 / (1 + Math.exp(-gates[s]!));
      gates[t] = tanh;
      gates[s] = sigmoid;
      score += p.scoreWeight[q]! * tanh * sigmoid;
    }
    attention[k] = score;
    if (score > maxScore) maxScore = score;
  }
  softmaxInPlace(attention, n, maxScore);

  pooled.fill(0);
  for (let k = 0; k < n; k++) {
    const weight = attention[k]!;
    for (let j = 0, r = k * h; j < h; j++, r++) pooled[j]! += weight * hidden[r]!;
  }
  let maxLogit = -Infinity;
  for (let o = 0; o < c; o++) {
    let sum = p.classifierBias[o]!;
    for (let j = 0, r = o * h; j < h; j++, r++) sum += p.classifierWeight[r]! * pooled[j]!;
    logits[o] = sum;
    if (sum > maxLogit) maxLogit = sum;
  }
  probabilities.set(logits);
  const logSumExp = maxLogit + Math.log(softmaxInPlace(probabilities, c, maxLogit));
  return label === undefined ? Number.NaN : logSumExp - logits[label]!;
}

/** Softmax of the first `count` values in place; returns Σ exp(x − max). */
function softmaxInPlace(values: Float64Array, count: number, max: number): number {
  let total = 0;
  for (let i = 0; i < count; i++) {
    const e = Math.exp(values[i]! - max);
    values[i] = e;
    total += e;
  }
  for (let i = 0; i < count; i++) values[i]! /= total;
  return total;
}

/**
 * Cross-entropy of one slide and its gradient with respect to every parameter, written into
 * `gradient` (overwritten; same layout and storage type as the parameters). Runs the forward pass.
 */
export function abmilLossAndGradient(
  model: AbmilModel,
  bag: SlideBag,
  label: number,
  gradient: FloatArray,
  ws: AbmilWorkspace,
  random?: () => number,
): number {
  if (gradient.length !== model.parameters.length) {
    throw new PathgenError('InvalidInput', 'gradient buffer does not match the model', {
      gradient: gradient.length,
      parameters: model.parameters.length,
    });
  }
  const loss = forward(model, bag, ws, label, random, true);
  const { inputDim: d, hiddenDim: h, attentionDim: a, classCount: c, dropout } = model.config;
  // Without a random source the forward pass ran without dropout: nothing was scaled.
  const keepScale = random !== undefined && dropout > 0 ? 1 / (1 - dropout) : 1;
  const n = bag.patchCount;
  const p = views(model.config, model.parameters);
  const g = views(model.config, gradient);
  const { hidden, gates, attention, attentionGrad, pooled, pooledGrad, probabilities, biasSums } = ws;
  const { gatesGrad, gatesGradT, hiddenT, hiddenGrad, hiddenGradT, featuresT, gatesWeightT } = ws;

  // Classifier: dlogits = softmax − onehot; dz = W2ᵀ dlogits.
  pooledGrad.fill(0);
  for (let o = 0; o < c; o++) {
    const dLogit = probabilities[o]! - (o === label ? 1 : 0);
    g.classifierBias[o] = dLogit;
    for (let j = 0, r = o * h; j < h; j++, r++) {
      g.classifierWeight[r] = dLogit * pooled[j]!;
      pooledGrad[j]! += dLogit * p.classifierWeight[r]!;
    }
  }

  // Pooling and softmax: dL/da_k = dz · h_k; dL/ds_k = a_k (dL/da_k − Σ_m a_m dL/da_m).
  let weighted = 0;
  for (let k = 0; k < n; k++) {
    let sum = 0;
    for (let j = 0, r = k * h; j < h; j++, r++) sum += pooledGrad[j]! * hidden[r]!;
    attentionGrad[k] = sum;
    weighted += attention[k]! * sum;
  }

  // Gates: per patch, the gradient at the pre-activations of tanh (first half) and sigmoid (second).
  biasSums.fill(0);
  const scoreSums = biasSums.subarray(0, a);
  const gateBiasSums = biasSums.subarray(a, 3 * a);
  const fcBiasSums = biasSums.subarray(3 * a);
  for (let k = 0; k < n; k++) {
    const dScore = attention[k]! * (attentionGrad[k]! - weighted);
    for (let q = 0, t = k * 2 * a, s = t + a; q < a; q++, t++, s++) {
      const tanh = gates[t]!;
      const sigmoid = gates[s]!;
      const w = p.scoreWeight[q]!;
      scoreSums[q]! += dScore * tanh * sigmoid;
      const dTanh = dScore * w * sigmoid * (1 - tanh * tanh);
      const dSigmoid = dScore * w * tanh * sigmoid * (1 - sigmoid);
      gatesGrad[t] = dTanh;
      gatesGrad[s] = dSigmoid;
      gateBiasSums[q]! += dTanh;
      gateBiasSums[a + q]! += dSigmoid;
    }
  }
  g.scoreWeight.set(scoreSums);
  g.gatesBias.set(gateBiasSums);
  transpose(gatesGrad, n, 2 * a, gatesGradT);
  transpose(hidden, n, h, hiddenT);
  multiplyTransposed(gatesGradT, 2 * a, n, hiddenT, h, g.gatesWeight);

  // Hidden features: through the gates and the pooling, then ReLU and dropout (a unit that is zero
  // after both passes no gradient; a kept one was scaled).
  transpose(p.gatesWeight, 2 * a, h, gatesWeightT);
  multiplyTransposed(gatesGrad, n, 2 * a, gatesWeightT, h, hiddenGrad);
  for (let k = 0; k < n; k++) {
    const weight = attention[k]!;
    for (let j = 0, r = k * h; j < h; j++, r++) {
      const value = hidden[r]! > 0 ? (hiddenGrad[r]! + weight * pooledGrad[j]!) * keepScale : 0;
      hiddenGrad[r] = value;
      fcBiasSums[j]! += value;
    }
  }
  g.fcBias.set(fcBiasSums);
  transpose(hiddenGrad, n, h, hiddenGradT);
  transpose(bag.features, n, d, featuresT);
  multiplyTransposed(hiddenGradT, h, n, featuresT, d, g.fcWeight);
  return loss;
}

export interface SlidePrediction {
  probabilities: number[];
  logits: number[];
  /** Attention weight of each patch (sums to 1). */
  attention: Float32Array;
}

export function predictSlide(model: AbmilModel, bag: SlideBag, ws = new AbmilWorkspace(model)): SlidePrediction {
  abmilForward(model, bag, ws);
  return {
    probabilities: Array.from(ws.probabilities),
    logits: Array.from(ws.logits),
    attention: Float32Array.from(ws.attention.subarray(0, bag.patchCount)),
  };
}
