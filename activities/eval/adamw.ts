import { PathgenError } from '../common/errors.js';

// AdamW as torch.optim.AdamW computes it (default flags: no amsgrad, no maximize), over one flat
// parameter vector. Weight decay is decoupled (p ← p·(1 − lr·wd)) and, as torch does by default,
// applies to every parameter, biases included. The moments are kept in float64: the result differs
// from torch's float32 moments only in the last bits of each update.

export type FloatArray = Float32Array | Float64Array;

export interface AdamWOptions {
  /** torch's defaults. */
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export interface AdamWState {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken so far (torch's `step`), used by the bias corrections. */
  step: number;
  readonly firstMoment: Float64Array;
  readonly secondMoment: Float64Array;
}

export function createAdamW(parameterCount: number, options: AdamWOptions = {}): AdamWState {
  const state: AdamWState = {
    beta1: options.beta1 ?? 0.9,
    beta2: options.beta2 ?? 0.999,
    eps: options.eps ?? 1e-8,
    weightDecay: options.weightDecay ?? 1e-2,
    step: 0,
    firstMoment: new Float64Array(parameterCount),
    secondMoment: new Float64Array(parameterCount),
  };
  const { beta1, beta2, eps, weightDecay } = state;
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weightDecay >= 0)) {
    throw new PathgenError('InvalidInput', 'AdamW needs 0 ≤ betas < 1, eps > 0 and weight decay ≥ 0', {
      beta1,
      beta2,
      eps,
      weightDecay,
    });
  }
  return state;
}

/** One optimiser step at learning rate `lr`: updates `parameters` in place from `gradient`. */
export function adamWStep(state: AdamWState, parameters: FloatArray, gradient: FloatArray, lr: number): void {
  const { firstMoment: m, secondMoment: v, beta1, beta2, eps } = state;
  if (parameters.length !== m.length || gradient.length !== m.length) {
    throw new PathgenError('InvalidInput', 'AdamW: parameter and gradient lengths must match the optimiser state', {
      parameters: parameters.length,
      gradient: gradient.length,
      state: m.length,
    });
  }
  state.step += 1;
  const decay = 1 - lr * state.weightDecay;
  const stepSize = lr / (1 - beta1 ** state.step);
  const secondCorrectionRoot = Math.sqrt(1 - beta2 ** state.step);
  for (let i = 0; i < parameters.length; i++) {
    const g = gradient[i]!;
    const mi = beta1 * m[i]! + (1 - beta1) * g;
    const vi = beta2 * v[i]! + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const denominator = Math.sqrt(vi) / secondCorrectionRoot + eps;
    parameters[i] = parameters[i]! * decay - (stepSize * mi) / denominator;
  }
}

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR in closed form: the learning rate after `step` scheduler
 * steps of `totalSteps` (T_max), from `baseLr` down to `minLr` (eta_min). torch computes the same
 * curve recursively; the two agree to rounding.
 */
export function cosineAnnealingLr(baseLr: number, step: number, totalSteps: number, minLr = 0): number {
  if (!(totalSteps > 0)) {
    throw new PathgenError('InvalidInput', 'the cosine schedule needs at least one step', { totalSteps });
  }
  return minLr + ((baseLr - minLr) * (1 + Math.cos((Math.PI * step) / totalSteps))) / 2;
}
