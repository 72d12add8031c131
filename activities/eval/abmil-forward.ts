import { multiplyTransposed } from './dense-kernels.js';
import { abmilViews, checkSlide, type AbmilModel, type SlideBag } from './abmil-model.js';
import { AbmilWorkspace } from './abmil-workspace.js';

// ABMIL's forward pass in plain JavaScript (the model and its equations are in abmil-model.ts):
// hidden features, gated attention scores, their softmax, the attention-pooled features and the
// class probabilities, all left in the workspace for the backward pass (abmil-gradient.ts).

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
  return abmilForwardPass(model, bag, ws, label, random, false);
}

/** The forward pass; `backward` also reserves the buffers the backward pass needs. */
export function abmilForwardPass(
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
  const p = abmilViews(model.config, model.parameters);
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
