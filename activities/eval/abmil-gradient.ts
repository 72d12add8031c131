import { PathgenError } from '../common/errors.js';
import type { FloatArray } from './adamw.js';
import { multiplyTransposed, transpose } from './dense-kernels.js';
import { abmilForwardPass } from './abmil-forward.js';
import { abmilViews, type AbmilModel, type SlideBag } from './abmil-model.js';
import type { AbmilWorkspace } from './abmil-workspace.js';

// ABMIL's backward pass, written out by hand (the model and its equations are in abmil-model.ts):
// from the cross-entropy back through the classifier, the attention pooling and its softmax, the
// gates and the hidden layer, accumulating sums over patches in float64.

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
  const loss = abmilForwardPass(model, bag, ws, label, random, true);
  const { inputDim: d, hiddenDim: h, attentionDim: a, classCount: c, dropout } = model.config;
  // Without a random source the forward pass ran without dropout: nothing was scaled.
  const keepScale = random !== undefined && dropout > 0 ? 1 / (1 - dropout) : 1;
  const n = bag.patchCount;
  const p = abmilViews(model.config, model.parameters);
  const g = abmilViews(model.config, gradient);
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
