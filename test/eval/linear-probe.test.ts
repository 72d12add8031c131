import { describe, expect, it } from 'vitest';
import {
  defaultWeightDecayGrid,
  linearProbeSplit,
  logspace,
  runLinearProbe,
  searchWeightDecay,
  type ProbeFit,
  type ValidationScore,
} from '../../activities/eval/linear-probe.js';
import { fitLogisticRegression, predictProbabilities } from '../../activities/eval/logistic-regression.js';
import { argmaxRows } from '../../activities/eval/metrics.js';
import { invalidMessage } from './invalid-input.js';
import { nested, sklearnReference } from './sklearn-reference.js';
import { clusteredFeatures } from '../../workers/synthetic/datasets/synthetic-features.js';

// Class sizes 10, 12 and 7.
const labels = [...Array<number>(10).fill(0), ...Array<number>(12).fill(1), ...Array<number>(7).fill(2)];
const perClass = (indices: Int32Array) => [0, 1, 2].map((c) => [...indices].filter((i) => labels[i] === c).length);

describe('linearProbeSplit', () => {
  it('draws exactly k shots per class and validates on other samples of each class', () => {
    const split = linearProbeSplit(labels, 3, 4, 1);
    expect(perClass(split.train)).toEqual([4, 4, 4]);
    // round(0.2 × 10, 12, 7) = 2, 2, 1: enough samples remain beside the shots.
    expect(perClass(split.validation)).toEqual([2, 2, 1]);
    expect([...split.train].filter((i) => split.validation.includes(i))).toEqual([]);
    // With k shots the final fit sees the shots only, as in CLIP_benchmark.
    expect([...split.final]).toEqual([...split.train]);
  });

  it('is the same for the same seed, nested across k, different across seeds', () => {
    expect(linearProbeSplit(labels, 3, 4, 1)).toEqual(linearProbeSplit(labels, 3, 4, 1));
    const two = linearProbeSplit(labels, 3, 2, 1);
    const four = linearProbeSplit(labels, 3, 4, 1);
    expect([...two.train].every((i) => four.train.includes(i))).toBe(true);
    expect([...two.validation]).toEqual([...four.validation]);
    expect([...linearProbeSplit(labels, 3, 4, 2).train]).not.toEqual([...four.train]);
  });

  it('uses every sample when k is null: train + validation, validation held out for the search', () => {
    const split = linearProbeSplit(labels, 3, null, 5, 0.25);
    // round(0.25 × 10, 12, 7) = 3 (2.5 rounds up), 3, 2.
    expect(perClass(split.validation)).toEqual([3, 3, 2]);
    expect(perClass(split.train)).toEqual([7, 9, 5]);
    expect([...split.final]).toEqual(labels.map((_, i) => i));
  });

  it('leaves the shots alone when a class has only just enough samples', () => {
    const split = linearProbeSplit(labels, 3, 7, 1);
    expect(perClass(split.train)).toEqual([7, 7, 7]);
    expect(perClass(split.validation)).toEqual([2, 2, 0]);
  });

  it('names the class that has fewer samples than the shots asked for', () => {
    expect(invalidMessage(() => linearProbeSplit(labels, 3, 8, 1, 0.2, ['tumour', 'stroma', 'necrosis']))).toBe(
      'class "necrosis" has 7 training samples, fewer than the 8 shots asked for',
    );
    expect(invalidMessage(() => linearProbeSplit(labels, 3, 0, 1))).toMatch(/shots must be a positive integer/);
    expect(invalidMessage(() => linearProbeSplit(labels, 3, 2, 1, 1))).toMatch(/validationProportion/);
    expect(invalidMessage(() => linearProbeSplit(labels, 2, 2, 1))).toMatch(/train labels\[22\] = 2/);
  });
});

describe('searchWeightDecay', () => {
  it("is CLIP_benchmark's grid: logspace(-6, 2, 97)", () => {
    expect(defaultWeightDecayGrid).toHaveLength(97);
    expect(defaultWeightDecayGrid[0]).toBeCloseTo(1e-6, 18);
    expect(defaultWeightDecayGrid[48]).toBeCloseTo(1e-2, 14);
    expect(defaultWeightDecayGrid[96]).toBeCloseTo(100, 10);
    expect(logspace(0, 1, 1)).toEqual([1]);
  });

  it('finds the clearly best weight decay off the coarse grid with few evaluations', () => {
    const visited: number[] = [];
    const chosen = searchWeightDecay(97, (index) => {
      visited.push(index);
      return { accuracy: 1 - Math.abs(index - 37) / 100, logLoss: 1 };
    });
    expect(chosen).toBe(37);
    // 7 coarse points, then at most two new neighbours for each span 8, 4, 2, 1.
    // Scored from the strongest weight decay down (warm starts along the regularisation path).
    expect(visited.slice(0, 7)).toEqual([96, 80, 64, 48, 32, 16, 0]);
    expect(new Set(visited).size).toBe(visited.length);
    expect(visited.length).toBeLessThanOrEqual(15);
  });

  it('breaks accuracy ties by validation log-loss, then keeps the current best', () => {
    const byLoss = (best: number) => (index: number) => ({ accuracy: 0.9, logLoss: Math.abs(index - best) });
    expect(searchWeightDecay(97, byLoss(53))).toBe(53);
    expect(searchWeightDecay(97, () => ({ accuracy: 0.5, logLoss: 0.7 }))).toBe(0);
    expect(searchWeightDecay(1, () => ({ accuracy: 0, logLoss: 0 }))).toBe(0);
  });
});

describe('runLinearProbe', () => {
  const classCount = 4;
  const dim = 32;
  const train = clusteredFeatures({ classCount, count: 240, dim, separation: 0.35, seed: 31, centresSeed: 30 });
  const test = clusteredFeatures({ classCount, count: 120, dim, separation: 0.35, seed: 32, centresSeed: 30 });

  it('chooses the weight decay with the best validation accuracy and repeats itself for the same seed', () => {
    const grid = [1e-5, 1e-3, 1e-1, 10, 1000];
    const fits: ProbeFit[] = [];
    const input = { train, test, dim, classCount, shots: [4], seeds: [7], weightDecayGrid: grid };
    const [result] = runLinearProbe({ ...input, onFit: (fit) => fits.push(fit) });
    expect(runLinearProbe(input)).toEqual([result]);
    // Five grid points fitted for the search (a grid this short is all coarse), then one final fit.
    expect(fits.map((fit) => [fit.purpose, fit.weightDecay])).toEqual([
      ...[...grid].reverse().map((weightDecay) => ['search', weightDecay]),
      ['final', result!.weightDecay[0]],
    ]);
    expect(fits.every((fit) => fit.converged && fit.shots === 4 && fit.seed === 7)).toBe(true);

    // The same choice made by hand: fit each λ on the shots, score the validation samples.
    const split = linearProbeSplit(train.labels, classCount, 4, 7);
    const normalise = (features: Float32Array, indices: Int32Array) => {
      const rows = new Float64Array(indices.length * dim);
      indices.forEach((index, r) => {
        const row = features.subarray(index * dim, (index + 1) * dim);
        const norm = Math.hypot(...row);
        row.forEach((value, j) => (rows[r * dim + j] = value / norm));
      });
      return rows;
    };
    const scores: ValidationScore[] = grid.map((weightDecay) => {
      const model = fitLogisticRegression({
        features: normalise(train.features, split.train),
        n: split.train.length,
        dim,
        labels: Int32Array.from(split.train, (i) => train.labels[i]!),
        classCount,
        weightDecay,
      });
      const probabilities = predictProbabilities(
        model,
        normalise(train.features, split.validation),
        split.validation.length,
      );
      const predictions = argmaxRows(probabilities, classCount);
      let correct = 0;
      let logLoss = 0;
      split.validation.forEach((index, r) => {
        if (predictions[r] === train.labels[index]) correct += 1;
        logLoss -= Math.log(probabilities[r * classCount + train.labels[index]!]!);
      });
      return { accuracy: correct / split.validation.length, logLoss: logLoss / split.validation.length };
    });
    const best = Math.max(...scores.map((score) => score.accuracy));
    const bestIndex = scores.findIndex(
      (score) =>
        score.accuracy === best &&
        score.logLoss === Math.min(...scores.filter((s) => s.accuracy === best).map((s) => s.logLoss)),
    );
    // The grid spans very weak to crushing regularisation, so the choice is not a formality.
    expect(Math.min(...scores.map((score) => score.accuracy))).toBeLessThan(best);
    expect(result!.weightDecay).toEqual([grid[bestIndex]]);
    expect(result!.seeds).toEqual([7]);
    expect(result!.accuracy.std).toBe(0);
    expect(result!.accuracy.mean).toBe(result!.firstSeed.accuracy);
    expect(result!.firstSeed.count).toBe(120);
  });

  it("equals scikit-learn's LogisticRegression run through the same protocol, to 1e-4", async () => {
    const binaryTrain = clusteredFeatures({
      classCount: 2,
      count: 80,
      dim,
      separation: 0.3,
      seed: 41,
      centresSeed: 40,
    });
    const binaryTest = clusteredFeatures({ classCount: 2, count: 60, dim, separation: 0.3, seed: 42, centresSeed: 40 });
    const probes = [
      { train, test, classCount, shots: [2, 8, null], seeds: [0, 1] },
      { train: binaryTrain, test: binaryTest, classCount: 2, shots: [4, null], seeds: [3] },
    ];
    const results = probes.flatMap((probe) => runLinearProbe({ ...probe, dim }));
    const reference = await sklearnReference<{
      seeds: { weightDecay: number; accuracy: number; balancedAccuracy: number; weightedF1: number }[];
    }>(
      probes.flatMap((probe) =>
        probe.shots.map((k) => ({
          command: 'linear-probe',
          train: nested(probe.train.features, dim),
          trainLabels: Array.from(probe.train.labels),
          test: nested(probe.test.features, dim),
          testLabels: Array.from(probe.test.labels),
          grid: defaultWeightDecayGrid,
          classCount: probe.classCount,
          splits: probe.seeds.map((seed) => {
            const split = linearProbeSplit(probe.train.labels, probe.classCount, k, seed);
            return { train: [...split.train], validation: [...split.validation], final: [...split.final] };
          }),
        })),
      ),
    );
    const shots = probes.flatMap((probe) => probe.shots);
    expect(results).toHaveLength(reference.length);
    results.forEach((result, i) => {
      const theirs = reference[i]!.seeds;
      expect(result.shots).toBe(shots[i]);
      expect(result.weightDecay).toEqual(theirs.map((seed) => seed.weightDecay));
      for (const key of ['accuracy', 'balancedAccuracy', 'weightedF1'] as const) {
        const values = theirs.map((seed) => seed[key]);
        const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
        const std = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length);
        expect(Math.abs(result[key].mean - mean), `${shots[i]} shots ${key}`).toBeLessThan(1e-4);
        expect(Math.abs(result[key].std - std), `${shots[i]} shots ${key} std`).toBeLessThan(1e-4);
      }
      expect(Math.abs(result.firstSeed.accuracy - theirs[0]!.accuracy)).toBeLessThan(1e-4);
    });
  });

  it('rejects what it cannot probe', () => {
    const base = { train, test, dim, classCount, shots: [2], seeds: [0] };
    expect(invalidMessage(() => runLinearProbe({ ...base, seeds: [] }))).toMatch(/at least one seed/);
    expect(invalidMessage(() => runLinearProbe({ ...base, shots: [] }))).toMatch(/at least one shots/);
    expect(invalidMessage(() => runLinearProbe({ ...base, weightDecayGrid: [1e-2, 1e-3] }))).toMatch(/increasing/);
    expect(invalidMessage(() => runLinearProbe({ ...base, shots: [61] }))).toMatch(
      /class "0" has 60 training samples, fewer than the 61 shots/,
    );
    expect(invalidMessage(() => runLinearProbe({ ...base, shots: [60] }))).toMatch(/no training samples are left/);
    const zeroRow = Float32Array.from(test.features);
    zeroRow.fill(0, 5 * dim, 6 * dim);
    expect(invalidMessage(() => runLinearProbe({ ...base, test: { ...test, features: zeroRow } }))).toMatch(
      /test features: row 5 has no direction/,
    );
  });
});
