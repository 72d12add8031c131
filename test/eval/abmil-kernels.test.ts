import { describe, expect, it } from 'vitest';
import { predictSlide } from '../../activities/eval/abmil-forward.js';
import { abmilParameterLayout, abmilToFloat64, createAbmil } from '../../activities/eval/abmil-model.js';
import type { AbmilModel } from '../../activities/eval/abmil-model.js';
import { openAbmilKernels, predictSlides } from '../../activities/eval/abmil-kernels.js';
import { trainAbmil } from '../../activities/eval/abmil-training.js';
import { adamWStep, createAdamW } from '../../activities/eval/adamw.js';
import type { FloatArray } from '../../activities/eval/adamw.js';
import { seededRandom } from '../../activities/common/seeded-random.js';
import { normalBag, seededNormal, shiftedPatchTask } from '../../workers/synthetic/datasets/synthetic-bags.js';

// The onnxruntime graph (float32) against the plain-JS pass on a float64 copy of the same weights:
// per parameter tensor the gradients agree to 1e-5 of the tensor's largest entry, step after step.

/** max |a − b| / max |b| per parameter tensor (max |a − b| where b is all zero). */
function relativeErrors(model: AbmilModel, a: FloatArray, b: FloatArray): Record<string, number> {
  const errors: Record<string, number> = {};
  for (const tensor of abmilParameterLayout(model.config)) {
    let difference = 0;
    let scale = 0;
    for (let i = tensor.offset; i < tensor.offset + tensor.size; i++) {
      difference = Math.max(difference, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    // A one-patch bag has zero attention gradients: both sides must then be exactly zero.
    errors[tensor.name] = scale === 0 ? difference : difference / scale;
  }
  return errors;
}

describe('ABMIL onnx kernels', () => {
  const normal = seededNormal(31);
  const bags = [normalBag(normal, 150, 40), normalBag(normal, 1, 40), normalBag(normal, 97, 40)];

  for (const dropout of [0, 0.3]) {
    it(`give the js gradient and loss to 1e-5 over several AdamW steps (dropout ${dropout})`, async () => {
      const model = createAbmil({ inputDim: 40, hiddenDim: 24, attentionDim: 11, classCount: 3, dropout, seed: 5 });
      // Larger weights than the initialisation gives, so attention is far from uniform.
      for (let i = 0; i < model.parameters.length; i++) model.parameters[i]! *= 3;
      const onnx = openAbmilKernels(model.config);
      const js = openAbmilKernels(model.config, { backend: 'js' });
      const optimizer = createAdamW(model.parameters.length, { weightDecay: 0.01 });
      const ours = new Float32Array(model.parameters.length);
      const reference = new Float64Array(model.parameters.length);
      try {
        for (const [step, bag] of [...bags, ...bags].entries()) {
          const label = step % 3;
          const exact = abmilToFloat64(model);
          const loss = await onnx.lossAndGradient(model, bag, label, ours, seededRandom(step));
          const expected = await js.lossAndGradient(exact, bag, label, reference, seededRandom(step));
          expect(Math.abs(loss - expected)).toBeLessThan(1e-5 * Math.max(1, expected));
          for (const [name, error] of Object.entries(relativeErrors(model, ours, reference))) {
            expect(error, `step ${step} ${name}`).toBeLessThan(1e-5);
          }
          adamWStep(optimizer, model.parameters, reference, 1e-2);
        }
        const bag = bags[0]!;
        const prediction = await onnx.predict(model, bag);
        const exact = predictSlide(abmilToFloat64(model), bag);
        expect(prediction.logits).toEqual(exact.logits.map((v) => expect.closeTo(v, 5)));
        expect(Array.from(prediction.attention)).toEqual(Array.from(exact.attention, (v) => expect.closeTo(v, 6)));
      } finally {
        await onnx.release();
      }
    });
  }

  it('take a float64 model as its float32 rounding', async () => {
    const model = createAbmil({ inputDim: 40, hiddenDim: 8, attentionDim: 4, classCount: 2, seed: 6 });
    const kernels = openAbmilKernels(model.config);
    try {
      const g32 = new Float32Array(model.parameters.length);
      const g64 = new Float64Array(model.parameters.length);
      const loss32 = await kernels.lossAndGradient(model, bags[0]!, 1, g32);
      const loss64 = await kernels.lossAndGradient(abmilToFloat64(model), bags[0]!, 1, g64);
      expect(loss64).toBe(loss32);
      expect(Array.from(g64)).toEqual(Array.from(g32));
      expect(await kernels.predict(abmilToFloat64(model), bags[2]!)).toEqual(await kernels.predict(model, bags[2]!));
    } finally {
      await kernels.release();
    }
  });

  it('predict many slides as predictSlide does', async () => {
    const model = createAbmil({ inputDim: 40, hiddenDim: 16, attentionDim: 8, classCount: 4, seed: 7 });
    const predictions = await predictSlides(model, bags);
    expect(predictions).toHaveLength(3);
    predictions.forEach((prediction, i) => {
      const expected = predictSlide(model, bags[i]!);
      expect(prediction.probabilities).toEqual(expected.probabilities.map((p) => expect.closeTo(p, 6)));
      expect(prediction.probabilities.reduce((a, b) => a + b)).toBeCloseTo(1, 12);
      expect(prediction.attention).toHaveLength(bags[i]!.patchCount);
    });
    expect(await predictSlides(model, bags, { backend: 'js' })).toEqual(bags.map((bag) => predictSlide(model, bag)));
  });

  it('reject a model of another shape, bad bags, labels and gradients, and bad options', async () => {
    const model = createAbmil({ inputDim: 40, hiddenDim: 8, attentionDim: 4, classCount: 2 });
    const kernels = openAbmilKernels(model.config);
    try {
      const gradient = new Float32Array(model.parameters.length);
      const other = createAbmil({ inputDim: 40, hiddenDim: 9, attentionDim: 4, classCount: 2 });
      await expect(kernels.predict(other, bags[0]!)).rejects.toThrow(/shape these ABMIL kernels/);
      const short = { features: new Float32Array(79), patchCount: 2 };
      await expect(kernels.lossAndGradient(model, short, 0, gradient)).rejects.toThrow(/patchCount × inputDim/);
      await expect(kernels.predict(model, { features: new Float32Array(0), patchCount: 0 })).rejects.toThrow(
        /patchCount × inputDim/,
      );
      await expect(kernels.lossAndGradient(model, bags[0]!, 2, gradient)).rejects.toThrow(/label outside/);
      await expect(kernels.lossAndGradient(model, bags[0]!, 0, new Float32Array(3))).rejects.toThrow(/gradient buffer/);
    } finally {
      await kernels.release();
    }
    expect(() => openAbmilKernels(model.config, { threads: -1 })).toThrow(/threads/);
    expect(() => openAbmilKernels(model.config, { backend: 'gpu' as 'js' })).toThrow(/unknown ABMIL backend/);
  });
});

describe('ABMIL training on both backends', () => {
  it('trains to the same model (dropout on), and each backend repeats itself exactly', async () => {
    const { examples } = shiftedPatchTask({ slides: 10, dim: 24, seed: 8, shift: 6 });
    const options = { classCount: 2, hiddenDim: 16, attentionDim: 8, dropout: 0.2, epochs: 4, lr: 1e-3, seed: 3 };
    const onnx = await trainAbmil(examples, options);
    const js = await trainAbmil(examples, { ...options, kernels: 'js' });
    expect(onnx.steps).toBe(40);
    expect(onnx.epochLosses).toEqual(js.epochLosses.map((loss) => expect.closeTo(loss, 5)));
    let largestMove = 0;
    let largestDifference = 0;
    const initial = createAbmil({ inputDim: 24, ...options });
    for (let i = 0; i < js.model.parameters.length; i++) {
      largestMove = Math.max(largestMove, Math.abs(js.model.parameters[i]! - initial.parameters[i]!));
      largestDifference = Math.max(largestDifference, Math.abs(onnx.model.parameters[i]! - js.model.parameters[i]!));
    }
    expect(largestMove).toBeGreaterThan(1e-2);
    expect(largestDifference).toBeLessThan(1e-6);
    expect((await trainAbmil(examples, options)).model.parameters).toEqual(onnx.model.parameters);
    expect((await trainAbmil(examples, { ...options, kernels: 'js' })).model.parameters).toEqual(js.model.parameters);
  });
});
