import { describe, expect, it } from 'vitest';
import { predictSlide } from '../../activities/eval/abmil-forward.js';
import { abmilParameterCount, createAbmil } from '../../activities/eval/abmil-model.js';
import { abmilFromJson, abmilToJson } from '../../activities/eval/abmil-json.js';
import { normalBag, seededNormal } from '../../workers/synthetic/datasets/synthetic-bags.js';

describe('ABMIL model', () => {
  const model = createAbmil({ inputDim: 10, classCount: 3, hiddenDim: 12, attentionDim: 6, seed: 1 });
  const bag = normalBag(seededNormal(2), 9, 10);

  it('initialises as torch.nn.Linear does: U(±1/√fan_in), seeded', () => {
    expect(model.config).toEqual({ inputDim: 10, hiddenDim: 12, attentionDim: 6, classCount: 3, dropout: 0 });
    expect(model.parameters).toHaveLength(12 * 10 + 12 + 2 * 6 * 12 + 2 * 6 + 6 + 3 * 12 + 3);
    expect(abmilParameterCount(model.config)).toBe(model.parameters.length);
    const fc = model.parameters.subarray(0, 120);
    expect(Math.max(...fc.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(10));
    expect(Math.max(...fc.map(Math.abs))).toBeGreaterThan(0.9 / Math.sqrt(10));
    const rest = model.parameters.subarray(132);
    expect(Math.max(...rest.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(6));
    expect(createAbmil({ ...model.config, seed: 1 }).parameters).toEqual(model.parameters);
    expect(createAbmil({ ...model.config, seed: 2 }).parameters).not.toEqual(model.parameters);
  });

  it('defaults to 256 hidden and 128 attention units and rejects impossible shapes', () => {
    expect(createAbmil({ inputDim: 4, classCount: 2 }).config).toMatchObject({ hiddenDim: 256, attentionDim: 128 });
    expect(() => createAbmil({ inputDim: 0, classCount: 2 })).toThrow(/positive integers/);
    expect(() => createAbmil({ inputDim: 4, classCount: 1 })).toThrow(/two classes/);
    expect(() => createAbmil({ inputDim: 4, classCount: 2, dropout: 1 })).toThrow(/dropout/);
  });

  it('predicts probabilities and attention weights that each sum to one, whatever the patch order', () => {
    const prediction = predictSlide(model, bag);
    expect(prediction.probabilities.reduce((a, b) => a + b)).toBeCloseTo(1, 12);
    expect(prediction.attention).toHaveLength(9);
    expect(Array.from(prediction.attention).reduce((a, b) => a + b)).toBeCloseTo(1, 6);
    const softmax = prediction.logits.map(Math.exp);
    const total = softmax.reduce((a, b) => a + b);
    expect(prediction.probabilities).toEqual(softmax.map((e) => expect.closeTo(e / total, 12)));

    // Attention pooling is permutation invariant: reversing the patches reverses the attention only.
    const reversed = new Float32Array(bag.features.length);
    for (let k = 0; k < 9; k++) reversed.set(bag.features.subarray(k * 10, k * 10 + 10), (8 - k) * 10);
    const flipped = predictSlide(model, { features: reversed, patchCount: 9 });
    expect(flipped.probabilities).toEqual(prediction.probabilities.map((p) => expect.closeTo(p, 6)));
    expect(Array.from(flipped.attention).reverse()).toEqual(
      Array.from(prediction.attention, (a) => expect.closeTo(a, 6)),
    );
  });

  it('round-trips through JSON exactly', () => {
    const json = abmilToJson(model);
    expect(json.tensors.map((t) => [t.name, t.shape])).toContainEqual(['attentionW.weight', [1, 6]]);
    const restored = abmilFromJson(JSON.parse(JSON.stringify(json)));
    expect(restored.config).toEqual(model.config);
    expect(restored.parameters).toEqual(model.parameters);
    expect(predictSlide(restored, bag)).toEqual(predictSlide(model, bag));
  });

  it('refuses JSON that is not a model, or whose tensors do not fit its config', () => {
    const json = abmilToJson(model);
    const withTensor = (name: string, change: Record<string, unknown>) => ({
      ...json,
      tensors: json.tensors.map((t) => (t.name === name ? { ...t, ...change } : t)),
    });
    expect(() => abmilFromJson({ ...json, format: 'other' })).toThrow(/not a pathgen ABMIL model/);
    expect(() => abmilFromJson(withTensor('fc.bias', { shape: [13] }))).toThrow(
      /fc.bias is missing or has the wrong shape/,
    );
    expect(() => abmilFromJson({ ...json, tensors: json.tensors.slice(1) })).toThrow(/fc.weight is missing/);
    expect(() => abmilFromJson(withTensor('fc.bias', { float32Base64: 'AAAA' }))).toThrow(/wrong number of values/);
    const nan = Buffer.alloc(12 * 4);
    nan.writeFloatLE(Number.NaN, 8);
    expect(() => abmilFromJson(withTensor('fc.bias', { float32Base64: nan.toString('base64') }))).toThrow(/non-finite/);
    const extra = { name: 'attentionW.bias', shape: [1], float32Base64: 'AAAAAA==' };
    expect(() => abmilFromJson({ ...json, tensors: [...json.tensors, extra] })).toThrow(/does not have/);
  });
});
