import * as ort from 'onnxruntime-node';
import { PathgenError } from '../common/errors.js';
import { abmilForward } from './abmil-forward.js';
import type { SlidePrediction } from './abmil-forward.js';
import { abmilLossAndGradient } from './abmil-gradient.js';
import { abmilParameterCount, checkSlide } from './abmil-model.js';
import type { AbmilConfig, AbmilModel, SlideBag } from './abmil-model.js';
import { AbmilWorkspace } from './abmil-workspace.js';
import { abmilGraph } from './abmil-onnx-graph.js';
import type { AbmilGraphKind } from './abmil-onnx-graph.js';
import type { FloatArray } from './adamw.js';

// One slide's forward pass, or its loss and gradient, on either of two backends:
// - 'onnx' (default): the whole pass as one onnxruntime graph per slide (abmil-onnx-graph.ts), float32
//   like torch, about as fast as torch on one core. Sessions are created once per shape, on first use,
//   and reused for every slide (the patch count is a dynamic axis). A run blocks the thread for a few
//   milliseconds per slide; callers yield between slides.
// - 'js': abmil.ts in plain JavaScript (float64 sums; float64 throughout for a float64 model), an
//   order of magnitude slower, kept as the reference and as a fallback.
// Dropout draws one random number per hidden unit, row by row, on both backends, so the same seeded
// generator gives the same mask.

export type AbmilBackend = 'onnx' | 'js';

export interface AbmilKernelOptions {
  backend?: AbmilBackend;
  /** onnxruntime intra-op threads (default 1: the result then cannot depend on the machine; 0: all cores). */
  threads?: number;
}

export interface AbmilKernels {
  readonly backend: AbmilBackend;
  /**
   * Cross-entropy of one slide; its gradient is written into `gradient` (the parameters' layout).
   * `random` turns dropout on.
   */
  lossAndGradient(
    model: AbmilModel,
    bag: SlideBag,
    label: number,
    gradient: FloatArray,
    random?: () => number,
  ): Promise<number>;
  /** Forward pass without dropout. */
  predict(model: AbmilModel, bag: SlideBag): Promise<SlidePrediction>;
  release(): Promise<void>;
}

/** Kernels for models of `config`'s shape. */
export function openAbmilKernels(config: AbmilConfig, options: AbmilKernelOptions = {}): AbmilKernels {
  const backend = options.backend ?? 'onnx';
  if (backend === 'js') return jsKernels(config);
  if (backend !== 'onnx') {
    throw new PathgenError('InvalidInput', `unknown ABMIL backend ${String(backend)}`, { backend });
  }
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 0) {
    throw new PathgenError('InvalidInput', `threads must be a non-negative integer, got ${threads}`, { threads });
  }
  return onnxKernels(config, threads);
}

/** Cross-entropy from logits, as a float64 log-sum-exp. */
export function crossEntropy(logits: readonly number[], label: number): number {
  const max = Math.max(...logits);
  let total = 0;
  for (const logit of logits) total += Math.exp(logit - max);
  return max + Math.log(total) - logits[label]!;
}

function checkModel(config: AbmilConfig, model: AbmilModel, gradient?: FloatArray): void {
  const keys = ['inputDim', 'hiddenDim', 'attentionDim', 'classCount', 'dropout'] as const;
  if (keys.some((key) => model.config[key] !== config[key])) {
    throw new PathgenError('InvalidInput', 'the model does not have the shape these ABMIL kernels were opened for', {
      expected: { ...config },
      found: { ...model.config },
    });
  }
  if (gradient && gradient.length !== model.parameters.length) {
    throw new PathgenError('InvalidInput', 'gradient buffer does not match the model', {
      gradient: gradient.length,
      parameters: model.parameters.length,
    });
  }
}

function jsKernels(config: AbmilConfig): AbmilKernels {
  // A workspace per storage type: a float64 model runs in float64 throughout.
  const workspaces = new Map<string, AbmilWorkspace>();
  const workspace = (model: AbmilModel) => {
    const key = model.parameters.constructor.name;
    let ws = workspaces.get(key);
    if (!ws) workspaces.set(key, (ws = new AbmilWorkspace(model)));
    return ws;
  };
  return {
    backend: 'js',
    lossAndGradient(model, bag, label, gradient, random) {
      checkModel(config, model, gradient);
      return Promise.resolve(abmilLossAndGradient(model, bag, label, gradient, workspace(model), random));
    },
    predict(model, bag) {
      checkModel(config, model);
      const ws = workspace(model);
      abmilForward(model, bag, ws);
      return Promise.resolve({
        probabilities: Array.from(ws.probabilities),
        logits: Array.from(ws.logits),
        attention: Float32Array.from(ws.attention.subarray(0, bag.patchCount)),
      });
    },
    release() {
      workspaces.clear();
      return Promise.resolve();
    },
  };
}

type SessionKind = AbmilGraphKind | 'training-dropout';

function onnxKernels(config: AbmilConfig, threads: number): AbmilKernels {
  const { inputDim: d, hiddenDim: h, classCount: c, dropout } = config;
  const parameterCount = abmilParameterCount(config);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
  const sessions = new Map<SessionKind, Promise<ort.InferenceSession>>();
  const session = (kind: SessionKind) => {
    let created = sessions.get(kind);
    if (!created) {
      const bytes = abmilGraph(config, kind === 'forward' ? 'forward' : 'training', kind === 'training-dropout');
      created = ort.InferenceSession.create(bytes, sessionOptions).catch((error: unknown) => {
        throw new PathgenError(
          'ModelUnavailable',
          'onnxruntime could not build the ABMIL graph',
          { kind },
          {
            cause: error,
          },
        );
      });
      sessions.set(kind, created);
    }
    return created;
  };
  const target = new Float32Array(c);
  let mask = new Float32Array(0);
  let theta32 = new Float32Array(0);
  const feeds = (model: AbmilModel, bag: SlideBag): Record<string, ort.Tensor> => {
    let theta = model.parameters;
    if (!(theta instanceof Float32Array)) {
      if (theta32.length !== parameterCount) theta32 = new Float32Array(parameterCount);
      theta32.set(theta);
      theta = theta32;
    }
    return {
      X: new ort.Tensor('float32', bag.features, [bag.patchCount, d]),
      theta: new ort.Tensor('float32', theta, [parameterCount]),
    };
  };
  const floats = (outputs: ort.InferenceSession.OnnxValueMapType, name: string, length: number) => {
    const data = outputs[name]?.data;
    if (!(data instanceof Float32Array) || data.length !== length) {
      throw new PathgenError('ModelOutputInvalid', `the ABMIL graph returned an unexpected ${name}`, { name, length });
    }
    return data;
  };

  return {
    backend: 'onnx',
    async lossAndGradient(model, bag, label, gradient, random) {
      checkModel(config, model, gradient);
      checkSlide(config, bag, label);
      const n = bag.patchCount;
      const inputs = feeds(model, bag);
      target.fill(0);
      target[label] = 1;
      inputs.target = new ort.Tensor('float32', target, [1, c]);
      const dropping = random !== undefined && dropout > 0;
      if (dropping) {
        if (mask.length < n * h) mask = new Float32Array(n * h);
        const keepScale = 1 / (1 - dropout);
        for (let i = 0; i < n * h; i++) mask[i] = random() < dropout ? 0 : keepScale;
        inputs.mask = new ort.Tensor('float32', mask.subarray(0, n * h), [n, h]);
      }
      const outputs = await (await session(dropping ? 'training-dropout' : 'training')).run(inputs);
      gradient.set(floats(outputs, 'gradient', parameterCount));
      return floats(outputs, 'loss', 1)[0]!;
    },
    async predict(model, bag) {
      checkModel(config, model);
      checkSlide(config, bag);
      const outputs = await (await session('forward')).run(feeds(model, bag));
      const logits = Array.from(floats(outputs, 'logits', c));
      const max = Math.max(...logits);
      const exps = logits.map((logit) => Math.exp(logit - max));
      const total = exps.reduce((sum, e) => sum + e, 0);
      return {
        probabilities: exps.map((e) => e / total),
        logits,
        attention: floats(outputs, 'attention', bag.patchCount).slice(),
      };
    },
    async release() {
      const created = [...sessions.values()];
      sessions.clear();
      // A graph that failed to build has nothing to release.
      const settled = await Promise.allSettled(created);
      for (const outcome of settled) if (outcome.status === 'fulfilled') await outcome.value.release();
    },
  };
}

/** Predictions for several slides with one set of kernels (sessions built once). */
export async function predictSlides(
  model: AbmilModel,
  bags: readonly SlideBag[],
  options: AbmilKernelOptions = {},
): Promise<SlidePrediction[]> {
  const kernels = openAbmilKernels(model.config, options);
  try {
    const predictions: SlidePrediction[] = [];
    for (const bag of bags) predictions.push(await kernels.predict(model, bag));
    return predictions;
  } finally {
    await kernels.release();
  }
}
