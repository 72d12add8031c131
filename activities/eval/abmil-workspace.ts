import type { FloatArray } from './adamw.js';
import type { AbmilModel } from './abmil-model.js';

// The buffers of ABMIL's forward and backward passes (abmil-forward.ts, abmil-gradient.ts), in the
// model's storage type, kept between slides so a training epoch allocates once per bag size.

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
