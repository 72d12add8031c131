import { describe, expect, it } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';
import { fitLogisticRegression, predictProbabilities } from '../../activities/eval/logistic-regression.js';
import { nested, sklearnReference } from './sklearn-reference.js';
import { clusteredFeatures } from '../../workers/synthetic/datasets/synthetic-features.js';

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let largest = 0;
  for (let k = 0; k < a.length; k++) largest = Math.max(largest, Math.abs(a[k]! - b[k]!));
  return largest;
}

function centred(values: ArrayLike<number>): number[] {
  const mean = Array.from(values).reduce((sum, value) => sum + value, 0) / values.length;
  return Array.from(values, (value) => value - mean);
}

describe('fitLogisticRegression', () => {
  it('solves a separable two-class problem by hand: the optimum balances the loss against the penalty', () => {
    // One feature, x = ±1 with labels 1/0, λ = 1. By symmetry b = 0 and w1 = −w0 = a; d = 2a and
    // p = σ(2a). Stationarity: mean over samples of (p − y)·x for row 1 is (σ(2a) − 1), plus λ·a = 0,
    // so a = 1 − σ(2a): a ≈ 0.33742 (bisection).
    const model = fitLogisticRegression({
      features: Float64Array.of(1, -1),
      n: 2,
      dim: 1,
      labels: [1, 0],
      classCount: 2,
      weightDecay: 1,
      tolerance: 1e-12,
    });
    const a = model.weights[1]!;
    expect(model.converged).toBe(true);
    expect(model.weights[0]).toBeCloseTo(-a, 10);
    expect(a).toBeCloseTo(1 - 1 / (1 + Math.exp(-2 * a)), 10);
    expect(a).toBeCloseTo(0.33742, 5);
    expect(Math.abs(model.bias[0]! - model.bias[1]!)).toBeLessThan(1e-10);
  });

  it('is deterministic and lands on the same optimum from a warm start', () => {
    const { features, labels } = clusteredFeatures({ classCount: 3, count: 90, dim: 12, separation: 0.6, seed: 3 });
    const input = { features, n: 90, dim: 12, labels, classCount: 3, weightDecay: 1e-3 };
    const first = fitLogisticRegression(input);
    const again = fitLogisticRegression(input);
    expect(Buffer.from(again.weights.buffer).equals(Buffer.from(first.weights.buffer))).toBe(true);
    const neighbour = fitLogisticRegression({ ...input, weightDecay: 2e-3 });
    const warm = fitLogisticRegression({ ...input, initial: neighbour });
    expect(largestDifference(warm.weights, first.weights)).toBeLessThan(1e-5);
    // The penalty makes the class rows sum to zero at the optimum; the unpenalised biases start and stay at sum 0.
    for (let j = 0; j < 12; j++)
      expect(Math.abs(first.weights[j]! + first.weights[12 + j]! + first.weights[24 + j]!)).toBeLessThan(1e-6);
    expect(Math.abs(first.bias.reduce((sum, value) => sum + value, 0))).toBeLessThan(1e-9);
  });

  it('reports a fit stopped by maxIterations as not converged', () => {
    const { features, labels } = clusteredFeatures({ classCount: 3, count: 60, dim: 8, separation: 1, seed: 4 });
    const model = fitLogisticRegression({
      features,
      n: 60,
      dim: 8,
      labels,
      classCount: 3,
      weightDecay: 1e-6,
      maxIterations: 2,
    });
    expect(model.iterations).toBe(2);
    expect(model.converged).toBe(false);
  });

  it('rejects malformed input with InvalidInput', () => {
    const base = {
      features: Float32Array.of(1, 2, 3, 4),
      n: 2,
      dim: 2,
      labels: [0, 1],
      classCount: 2,
      weightDecay: 0.1,
    };
    const cases: [Partial<typeof base>, RegExp][] = [
      [{ n: 3 }, /4 feature values are not 3 rows of 2/],
      [{ labels: [0] }, /1 labels for 2 samples/],
      [{ labels: [0, 2] }, /labels\[1\] = 2/],
      [{ classCount: 1 }, /at least two classes/],
      [{ weightDecay: -1 }, /weight decay must be a finite number/],
      [{ features: Float32Array.of(1, 2, Number.NaN, 4) }, /feature value 2 is NaN/],
    ];
    for (const [change, message] of cases) {
      let caught: unknown;
      try {
        fitLogisticRegression({ ...base, ...change });
      } catch (error) {
        caught = error;
      }
      expect(caught, String(message)).toBeInstanceOf(PathgenError);
      expect((caught as PathgenError).code).toBe('InvalidInput');
      expect((caught as PathgenError).message).toMatch(message);
    }
  });
});

describe('logistic regression against scikit-learn', () => {
  it('matches LogisticRegression(C = 1/(nλ)) for ≥3 classes and C = 2/(nλ) for two, to 1e-5', async () => {
    const cases = [
      { classCount: 4, count: 200, dim: 16, separation: 0.4, weightDecay: 1e-2, seed: 21 },
      { classCount: 3, count: 300, dim: 64, separation: 0.15, weightDecay: 1e-4, seed: 22 },
      { classCount: 2, count: 120, dim: 10, separation: 0.4, weightDecay: 1e-3, seed: 23 },
    ];
    const data = cases.map((c) => ({
      train: clusteredFeatures({ ...c, centresSeed: c.seed }),
      test: clusteredFeatures({ ...c, count: 50, seed: c.seed + 100, centresSeed: c.seed }),
    }));
    const reference = await sklearnReference<{ coef: number[][]; intercept: number[]; probabilities: number[][] }>(
      cases.map((c, i) => ({
        command: 'logistic',
        features: nested(data[i]!.train.features, c.dim),
        labels: Array.from(data[i]!.train.labels),
        test: nested(data[i]!.test.features, c.dim),
        weightDecay: c.weightDecay,
        classCount: c.classCount,
      })),
    );
    cases.forEach((c, i) => {
      const theirs = reference[i]!;
      const model = fitLogisticRegression({
        features: data[i]!.train.features,
        n: c.count,
        dim: c.dim,
        labels: data[i]!.train.labels,
        classCount: c.classCount,
        weightDecay: c.weightDecay,
      });
      expect(model.converged).toBe(true);
      const probabilities = predictProbabilities(model, data[i]!.test.features, 50);
      expect(largestDifference(probabilities, theirs.probabilities.flat()), `case ${i} probabilities`).toBeLessThan(
        1e-5,
      );
      if (c.classCount === 2) {
        // sklearn's single binomial vector is the difference of our two rows.
        const difference = Array.from({ length: c.dim }, (_, j) => model.weights[c.dim + j]! - model.weights[j]!);
        expect(largestDifference(difference, theirs.coef[0]!), `case ${i} coef`).toBeLessThan(1e-5);
        expect(Math.abs(model.bias[1]! - model.bias[0]! - theirs.intercept[0]!)).toBeLessThan(1e-5);
      } else {
        expect(largestDifference(model.weights, theirs.coef.flat()), `case ${i} coef`).toBeLessThan(1e-5);
        // Softmax ignores a shift shared by all biases, so compare them centred.
        expect(largestDifference(centred(model.bias), centred(theirs.intercept)), `case ${i} bias`).toBeLessThan(1e-5);
      }
    });
  });
});
