import pkg from 'onnx-proto';
import { abmilParameterLayout } from './abmil-model.js';
import type { AbmilConfig } from './abmil-model.js';

const { onnx } = pkg;

// ABMIL (abmil.ts) as ONNX graphs, so onnxruntime's MLAS kernels do the arithmetic: the big products
// and the elementwise work alike (in plain JS the tanh/sigmoid/exp alone cost as much as torch's
// whole step). One graph per use, one run per slide:
// - forward: X [n, d], θ [P] → logits [1, c], attention [n, 1];
// - training: X, θ, target [1, c] (one-hot), and with dropout a mask [n, h] (0 or 1/(1 − p)) →
//   loss [] and the gradient [P] in θ's layout (abmilParameterLayout), backpropagation written out
//   as in abmilLossAndGradient. The input gradient is never formed.
// θ arrives as one flat vector and is sliced in the graph, so the caller feeds the parameter
// buffer as it is and copies one gradient buffer back. Everything is float32, as in torch.

type Node = InstanceType<typeof onnx.NodeProto>;
type Attribute = InstanceType<typeof onnx.AttributeProto>;

class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private counter = 0;

  /** A node with one output; returns its name (`name` when given, else a fresh one). */
  op(opType: string, inputs: string[], attributes: Attribute[] = [], name?: string): string {
    return this.opMulti(opType, inputs, 1, attributes, name === undefined ? [] : [name])[0]!;
  }

  opMulti(opType: string, inputs: string[], outputs: number, attributes: Attribute[] = [], names: string[] = []) {
    const output = Array.from({ length: outputs }, (_, i) => names[i] ?? this.fresh(opType));
    this.nodes.push(onnx.NodeProto.create({ opType, input: inputs, output, attribute: attributes }));
    return output;
  }

  int64s(values: number[]): string {
    const name = this.fresh('ints');
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    const rawData = new Uint8Array(data.buffer);
    this.initializers.push(
      onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData }),
    );
    return name;
  }

  scalar(value: number): string {
    const name = this.fresh('scalar');
    this.initializers.push(
      onnx.TensorProto.create({ name, dims: [], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [value] }),
    );
    return name;
  }

  private fresh(hint: string): string {
    this.counter += 1;
    return `${hint.toLowerCase()}_${this.counter}`;
  }
}

const int = (name: string, i: number): Attribute =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });
const transA = int('transA', 1);
const transB = int('transB', 1);

function tensorInfo(name: string, dims: (number | string)[]) {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } },
  });
}

interface ForwardValues {
  hidden: string;
  gated: string;
  tanh: string;
  sigmoid: string;
  attention: string;
  pooled: string;
  logits: string;
  parameters: Record<string, string>;
}

/** θ sliced into its tensors (by torch name), then the forward pass up to the logits. */
function forward(g: GraphBuilder, config: AbmilConfig, dropout: boolean): ForwardValues {
  const { attentionDim: a, hiddenDim: h } = config;
  const parameters: Record<string, string> = {};
  const layout = abmilParameterLayout(config);
  const axis0 = g.int64s([0]);
  const span = (first: number, last: number, shape: number[]) => {
    const start = layout[first]!.offset;
    const end = layout[last]!.offset + layout[last]!.size;
    const flat = g.op('Slice', ['theta', g.int64s([start]), g.int64s([end]), axis0]);
    return g.op('Reshape', [flat, g.int64s(shape)]);
  };
  parameters.fcWeight = span(0, 0, layout[0]!.shape);
  parameters.fcBias = span(1, 1, layout[1]!.shape);
  parameters.gatesWeight = span(2, 3, [2 * a, h]);
  parameters.gatesBias = span(4, 5, [2 * a]);
  parameters.scoreWeight = span(6, 6, layout[6]!.shape);
  parameters.classifierWeight = span(7, 7, layout[7]!.shape);
  parameters.classifierBias = span(8, 8, layout[8]!.shape);

  const relu = g.op('Relu', [g.op('Gemm', ['X', parameters.fcWeight, parameters.fcBias], [transB])]);
  const hidden = dropout ? g.op('Mul', [relu, 'mask']) : relu;
  const gates = g.op('Gemm', [hidden, parameters.gatesWeight, parameters.gatesBias], [transB]);
  const [v, u] = g.opMulti('Split', [gates, g.int64s([a, a])], 2, [int('axis', 1)]);
  const tanh = g.op('Tanh', [v!]);
  const sigmoid = g.op('Sigmoid', [u!]);
  const gated = g.op('Mul', [tanh, sigmoid]);
  const score = g.op('Gemm', [gated, parameters.scoreWeight], [transB]);
  const attention = g.op('Softmax', [score], [int('axis', 0)], 'attention');
  const pooled = g.op('Gemm', [attention, hidden], [transA]);
  const logits = g.op('Gemm', [pooled, parameters.classifierWeight, parameters.classifierBias], [transB], 'logits');
  return { hidden, gated, tanh, sigmoid, attention, pooled, logits, parameters };
}

/** Backpropagation from the cross-entropy to every parameter; returns the flat gradient's name. */
function backward(g: GraphBuilder, f: ForwardValues, dropout: number): string {
  const { hidden, gated, tanh, sigmoid, attention, pooled, logits, parameters: p } = f;
  const one = g.scalar(1);
  const axis0 = g.int64s([0]);
  const noKeep = int('keepdims', 0);
  const logProbabilities = g.op('LogSoftmax', [logits], [int('axis', 1)]);
  const crossEntropy = g.op('ReduceSum', [g.op('Mul', [logProbabilities, 'target'])], [noKeep]);
  g.op('Neg', [crossEntropy], [], 'loss');

  // Classifier: dlogits = softmax − onehot; dz = dlogits · W2.
  const logitsGrad = g.op('Sub', [g.op('Exp', [logProbabilities]), 'target']);
  const classifierWeightGrad = g.op('Gemm', [logitsGrad, pooled], [transA]);
  const pooledGrad = g.op('MatMul', [logitsGrad, p.classifierWeight!]);

  // Pooling and softmax: dL/da = H · dzᵀ; dL/ds_k = a_k (dL/da_k − Σ_m a_m dL/da_m).
  const attentionGrad = g.op('Gemm', [hidden, pooledGrad], [transB]);
  const weighted = g.op('ReduceSum', [g.op('Mul', [attention, attentionGrad])]);
  const scoreGrad = g.op('Mul', [attention, g.op('Sub', [attentionGrad, weighted])]);
  const scoreWeightGrad = g.op('Gemm', [scoreGrad, gated], [transA]);

  // Gates: the gradient at the pre-activations of tanh and sigmoid.
  const gatedGrad = g.op('Mul', [scoreGrad, p.scoreWeight!]);
  const tanhSquared = g.op('Mul', [tanh, tanh]);
  const vGrad = g.op('Mul', [g.op('Mul', [gatedGrad, sigmoid]), g.op('Sub', [one, tanhSquared])]);
  const uGrad = g.op('Mul', [g.op('Mul', [gatedGrad, gated]), g.op('Sub', [one, sigmoid])]);
  const gatesGrad = g.op('Concat', [vGrad, uGrad], [int('axis', 1)]);
  const gatesWeightGrad = g.op('Gemm', [gatesGrad, hidden], [transA]);
  const gatesBiasGrad = g.op('ReduceSum', [gatesGrad, axis0], [noKeep]);

  // Hidden features: through the gates plus the pooling's a_k·dz, then ReLU and dropout. Hidden
  // values are ≥ 0, so Sign is 1 exactly where a unit passed both; a kept unit was scaled by 1/(1 − p).
  const poolingTerm = g.op('Gemm', [attention, pooledGrad]);
  const hiddenGrad = g.op('Gemm', [gatesGrad, p.gatesWeight!, poolingTerm]);
  const passed = g.op('Sign', [hidden]);
  const scaled = dropout > 0 ? g.op('Mul', [passed, g.scalar(1 / (1 - dropout))]) : passed;
  const preActivationGrad = g.op('Mul', [hiddenGrad, scaled]);
  const fcWeightGrad = g.op('Gemm', [preActivationGrad, 'X'], [transA]);
  const fcBiasGrad = g.op('ReduceSum', [preActivationGrad, axis0], [noKeep]);

  const flat = g.int64s([-1]);
  const pieces = [
    fcWeightGrad,
    fcBiasGrad,
    gatesWeightGrad,
    gatesBiasGrad,
    scoreWeightGrad,
    classifierWeightGrad,
    logitsGrad,
  ].map((value) => g.op('Reshape', [value, flat]));
  return g.op('Concat', pieces, [int('axis', 0)], 'gradient');
}

export type AbmilGraphKind = 'forward' | 'training';

/**
 * The serialised ModelProto for `kind`. A training graph takes a dropout mask input exactly when
 * `withDropout` (config.dropout > 0 in training).
 */
export function abmilGraph(config: AbmilConfig, kind: AbmilGraphKind, withDropout = false): Uint8Array {
  const { inputDim: d, hiddenDim: h, classCount: c } = config;
  const parameterCount = abmilParameterLayout(config).reduce((sum, tensor) => sum + tensor.size, 0);
  const g = new GraphBuilder();
  const dropout = kind === 'training' && withDropout;
  const values = forward(g, config, dropout);
  const inputs = [tensorInfo('X', ['n', d]), tensorInfo('theta', [parameterCount])];
  let outputs = [tensorInfo(values.logits, [1, c]), tensorInfo(values.attention, ['n', 1])];
  if (kind === 'training') {
    inputs.push(tensorInfo('target', [1, c]));
    if (dropout) inputs.push(tensorInfo('mask', ['n', h]));
    outputs = [tensorInfo('loss', []), tensorInfo(backward(g, values, dropout ? config.dropout : 0), [parameterCount])];
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'pathgen',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: `abmil_${kind}`, node: g.nodes, initializer: g.initializers, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(model).finish();
}
