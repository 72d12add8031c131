import { describe, expect, it } from 'vitest';
import { abmilForward } from '../../activities/eval/abmil-forward.js';
import { abmilLossAndGradient } from '../../activities/eval/abmil-gradient.js';
import { abmilParameterLayout, abmilToFloat64, createAbmil } from '../../activities/eval/abmil-model.js';
import type { AbmilModel, SlideBag } from '../../activities/eval/abmil-model.js';
import { AbmilWorkspace } from '../../activities/eval/abmil-workspace.js';
import { seededRandom } from '../../activities/common/seeded-random.js';
import { normalBag, seededNormal } from '../../workers/synthetic/datasets/synthetic-bags.js';

// Every parameter's analytic gradient against a central finite difference, in float64: with
// h = 1e-6 the difference is exact to about 1e-9, so a tolerance of 1e-7 + 1e-6·|g| leaves no room
// for a wrong term. Dimensions are odd and small so every kernel's remainder paths run too.

const h = 1e-6;

function lossAt(model: AbmilModel, bag: SlideBag, label: number, dropoutSeed?: number): number {
  const random = dropoutSeed === undefined ? undefined : seededRandom(dropoutSeed);
  return abmilForward(model, bag, new AbmilWorkspace(model), label, random);
}

function checkGradient(model: AbmilModel, bag: SlideBag, label: number, dropoutSeed?: number) {
  const gradient = new Float64Array(model.parameters.length);
  const random = dropoutSeed === undefined ? undefined : seededRandom(dropoutSeed);
  abmilLossAndGradient(model, bag, label, gradient, new AbmilWorkspace(model), random);
  const groups = abmilParameterLayout(model.config).map((tensor) => {
    let worst = 0;
    let norm = 0;
    for (let i = tensor.offset; i < tensor.offset + tensor.size; i++) {
      const original = model.parameters[i]!;
      model.parameters[i] = original + h;
      const up = lossAt(model, bag, label, dropoutSeed);
      model.parameters[i] = original - h;
      const down = lossAt(model, bag, label, dropoutSeed);
      model.parameters[i] = original;
      const numeric = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(numeric - gradient[i]!) / (1e-7 + 1e-6 * Math.abs(gradient[i]!)));
      norm += gradient[i]! ** 2;
    }
    return { name: tensor.name, worst, norm: Math.sqrt(norm) };
  });
  return groups;
}

function smallModel(options: { dropout?: number; classCount?: number } = {}): AbmilModel {
  const model = abmilToFloat64(
    createAbmil({
      inputDim: 7,
      hiddenDim: 9,
      attentionDim: 5,
      classCount: options.classCount ?? 3,
      seed: 3,
      ...options,
    }),
  );
  // Larger weights than the initialisation gives, so attention is far from uniform and every term matters.
  for (let i = 0; i < model.parameters.length; i++) model.parameters[i]! *= 3;
  return model;
}

describe('ABMIL backpropagation', () => {
  const bag = normalBag(seededNormal(5), 11, 7);

  it('matches central differences for every parameter group', () => {
    const groups = checkGradient(smallModel(), bag, 2);
    expect(groups.map((g) => g.name)).toEqual([
      'fc.weight',
      'fc.bias',
      'attentionV.weight',
      'attentionU.weight',
      'attentionV.bias',
      'attentionU.bias',
      'attentionW.weight',
      'classifier.weight',
      'classifier.bias',
    ]);
    for (const group of groups) {
      expect(group.norm, group.name).toBeGreaterThan(1e-4);
      expect(group.worst, group.name).toBeLessThan(1);
    }
  });

  it('matches central differences with dropout on (the same seeded mask in every evaluation)', () => {
    for (const group of checkGradient(smallModel({ dropout: 0.3 }), bag, 0, 99)) {
      expect(group.worst, group.name).toBeLessThan(1);
    }
  });

  it('matches central differences for two classes and a one-patch bag', () => {
    for (const group of checkGradient(smallModel({ classCount: 2 }), normalBag(seededNormal(8), 1, 7), 1)) {
      expect(group.worst, group.name).toBeLessThan(1);
    }
  });

  it('runs a dropout model without a random source as the same weights without dropout', () => {
    const withDropout = smallModel({ dropout: 0.3 });
    const without = { config: { ...withDropout.config, dropout: 0 }, parameters: withDropout.parameters };
    const expected = new Float64Array(without.parameters.length);
    const gradient = new Float64Array(without.parameters.length);
    const loss = abmilLossAndGradient(without, bag, 1, expected, new AbmilWorkspace(without));
    expect(abmilLossAndGradient(withDropout, bag, 1, gradient, new AbmilWorkspace(withDropout))).toBe(loss);
    expect(gradient).toEqual(expected);
  });

  it('computes the same gradient in float32 storage as in float64, to float32 precision', () => {
    const model32 = createAbmil({ inputDim: 7, hiddenDim: 9, attentionDim: 5, classCount: 3, seed: 3 });
    const model64 = abmilToFloat64(model32);
    const g32 = new Float32Array(model32.parameters.length);
    const g64 = new Float64Array(model64.parameters.length);
    const loss32 = abmilLossAndGradient(model32, bag, 1, g32, new AbmilWorkspace(model32));
    const loss64 = abmilLossAndGradient(model64, bag, 1, g64, new AbmilWorkspace(model64));
    expect(loss32).toBeCloseTo(loss64, 5);
    const scale = Math.max(...g64.map(Math.abs));
    for (let i = 0; i < g64.length; i++) expect(Math.abs(g32[i]! - g64[i]!)).toBeLessThan(1e-5 * scale);
  });

  it('rejects a bag of the wrong size, a label outside the classes and a gradient of the wrong length', () => {
    const model = createAbmil({ inputDim: 7, classCount: 3, hiddenDim: 4, attentionDim: 2 });
    const ws = new AbmilWorkspace(model);
    const gradient = new Float32Array(model.parameters.length);
    const short = { features: new Float32Array(13), patchCount: 2 };
    expect(() => abmilLossAndGradient(model, short, 0, gradient, ws)).toThrow(/patchCount × inputDim/);
    expect(() =>
      abmilLossAndGradient(model, { features: new Float32Array(0), patchCount: 0 }, 0, gradient, ws),
    ).toThrow(/patchCount × inputDim/);
    expect(() => abmilLossAndGradient(model, bag, 3, gradient, ws)).toThrow(/label outside/);
    expect(() => abmilLossAndGradient(model, bag, 0, new Float32Array(3), ws)).toThrow(/gradient buffer/);
  });
});
