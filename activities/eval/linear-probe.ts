// Few-shot linear probe on frozen image features, after CLIP_benchmark's protocol
// (clip_benchmark/metrics/linear_probe.py): features L2-normalised as its Featurizer does, k shots per
// class drawn with a seed, a weight-decay search on a validation split (a coarse pass over the grid, then
// a narrowing search around the best), a final fit with the chosen weight decay, metrics on the test split.
// Where CLIP_benchmark trains a linear layer with AdamW for a number of epochs, we solve the same convex
// problem exactly (logistic-regression.ts): deterministic, and comparable to scikit-learn's
// LogisticRegression, which is what OpenAI's CLIP paper used for its probes.
import { PathgenError } from '../common/errors.js';
import type { ClassificationMetrics, LinearProbeShotResult } from './eval-types.js';
import { fitLogisticRegression, predictProbabilities, type LogisticRegressionModel } from './logistic-regression.js';
import { argmaxRows, checkClassIndices, classificationMetrics, type ClassIndices } from './metrics.js';
import { seededPermutation } from './seeded-shuffle.js';

export interface FeatureSplit {
  /** Rows of dim, row-major. */
  features: Float32Array | Float64Array;
  labels: ClassIndices;
}

export interface LinearProbeInput {
  train: FeatureSplit;
  test: FeatureSplit;
  dim: number;
  classCount: number;
  /** For error messages; class indices otherwise. */
  classNames?: readonly string[];
  /** Shots per class for each result; null = every training sample. */
  shots: readonly (number | null)[];
  seeds: readonly number[];
  /** Share of each class's training samples held out to choose the weight decay (default 0.2). */
  validationProportion?: number;
  /** Increasing weight decays to search (default: CLIP_benchmark's logspace(-6, 2, 97)). */
  weightDecayGrid?: readonly number[];
  /** Passed to each fit. */
  maxIterations?: number;
  tolerance?: number;
  /** Called after every fit (a full-data probe makes a few dozen): for heartbeats and convergence warnings. */
  onFit?: (fit: ProbeFit) => void;
}

export interface ProbeFit {
  shots: number | null;
  seed: number;
  weightDecay: number;
  /** 'search' fits score the validation split; the 'final' fit scores the test split. */
  purpose: 'search' | 'final';
  iterations: number;
  converged: boolean;
}

/** Sample indices into the training split. */
export interface ProbeSplit {
  /** What the weight-decay search fits on: k shots per class, or everything but the validation samples. */
  train: Int32Array;
  validation: Int32Array;
  /** What the final model fits on: the shots (k given) or train + validation (all samples). */
  final: Int32Array;
}

export interface ValidationScore {
  accuracy: number;
  /** Mean cross-entropy on the validation samples: breaks ties between equally accurate weight decays. */
  logLoss: number;
}

function invalid(message: string, details: Record<string, unknown> = {}): PathgenError<'InvalidInput'> {
  return new PathgenError('InvalidInput', message, details);
}

/** `count` values from 10^from to 10^to, evenly spaced in the exponent (numpy's logspace). */
export function logspace(from: number, to: number, count: number): number[] {
  if (count === 1) return [10 ** from];
  return Array.from({ length: count }, (_, i) => 10 ** (from + (i * (to - from)) / (count - 1)));
}

/**
 * CLIP_benchmark's grid, logspace(-6, 2, 97). There the values are AdamW's decoupled decay; here they are
 * λ of the objective, so only the shape of the search carries over, not which value wins.
 */
export const defaultWeightDecayGrid: readonly number[] = Object.freeze(logspace(-6, 2, 97));

/**
 * Splits one seed's training samples. A seeded permutation orders each class's samples; the shots are the
 * first k of them, so for one seed the 1-shot set lies inside the 2-shot set, and so on (CLIP_benchmark
 * walks one random permutation the same way). The validation samples are the last
 * round(proportion × class size) of each class, never taken from the shots, so one seed validates every k
 * on the same samples while the class has enough. CLIP_benchmark's rule for the final fit: with k shots
 * the shots alone (adding the validation samples would train on more than k per class), with every
 * sample train + validation.
 */
export function linearProbeSplit(
  labels: ClassIndices,
  classCount: number,
  shots: number | null,
  seed: number,
  validationProportion = 0.2,
  classNames?: readonly string[],
): ProbeSplit {
  if (shots !== null && (!Number.isInteger(shots) || shots < 1))
    throw invalid(`shots must be a positive integer or null (all samples), got ${shots}`, { shots });
  if (!(validationProportion > 0 && validationProportion < 1))
    throw invalid(`validationProportion must lie strictly between 0 and 1, got ${validationProportion}`);
  checkClassIndices(labels, classCount, 'train labels');
  const byClass: number[][] = Array.from({ length: classCount }, () => []);
  for (const index of seededPermutation(labels.length, seed)) byClass[labels[index]!]!.push(index);

  const train: number[] = [];
  const validation: number[] = [];
  byClass.forEach((indices, c) => {
    if (shots !== null && indices.length < shots)
      throw invalid(
        `class "${classNames?.[c] ?? c}" has ${indices.length} training samples, fewer than the ${shots} shots asked for`,
        { class: classNames?.[c] ?? c, samples: indices.length, shots },
      );
    // With every sample, at least one per class stays for the search fits; with k shots, the shots stay.
    const spare = shots === null ? Math.max(indices.length - 1, 0) : indices.length - shots;
    const validationCount = Math.min(Math.round(validationProportion * indices.length), spare);
    const kept = shots ?? indices.length - validationCount;
    train.push(...indices.slice(0, kept));
    validation.push(...indices.slice(indices.length - validationCount));
  });
  const ascending = (values: number[]) => Int32Array.from(values.sort((a, b) => a - b));
  return {
    train: ascending([...train]),
    validation: ascending([...validation]),
    final: ascending(shots === null ? [...train, ...validation] : [...train]),
  };
}

/**
 * CLIP_benchmark's search shape over an increasing grid: score 7 evenly spaced grid points, then
 * compare the best with its neighbours at distance span, span/2, …, 1 (span = (length − 1)/12, 8 for the
 * default 97 points), moving to a neighbour that scores better. Better means a higher validation accuracy,
 * then a lower validation log-loss; a tie keeps the current best (and the smaller weight decay among new
 * candidates). Returns the chosen index. Scores are computed once per index.
 */
export function searchWeightDecay(gridLength: number, score: (index: number) => ValidationScore): number {
  if (!Number.isInteger(gridLength) || gridLength < 1) throw invalid('the weight-decay grid is empty');
  const scores = new Map<number, ValidationScore>();
  const scoreOf = (index: number): ValidationScore => {
    let known = scores.get(index);
    if (known === undefined) {
      known = score(index);
      scores.set(index, known);
    }
    return known;
  };
  const better = (a: ValidationScore, b: ValidationScore) =>
    a.accuracy > b.accuracy || (a.accuracy === b.accuracy && a.logLoss < b.logLoss);

  const coarse = [...new Set(Array.from({ length: 7 }, (_, i) => Math.round((i * (gridLength - 1)) / 6)))];
  let peak = coarse[0]!;
  const challenge = (index: number) => {
    const current = scoreOf(peak);
    if (index >= 0 && index < gridLength && better(scoreOf(index), current)) peak = index;
  };
  // Scored from the strongest weight decay down: a warm-started fit follows the regularisation path
  // cheaply, while a cold fit at the weakest weight decay is the slowest of all. The choice does not
  // depend on this order.
  for (const index of [...coarse].reverse()) scoreOf(index);
  for (const index of coarse.slice(1)) challenge(index);
  for (let span = Math.floor((gridLength - 1) / 12); span > 0; span = Math.floor(span / 2)) {
    const centre = peak;
    challenge(centre - span);
    challenge(centre + span);
  }
  return peak;
}

function normalisedRows(features: Float32Array | Float64Array, dim: number, what: string): Float64Array {
  if (features.length % dim !== 0) throw invalid(`${what}: ${features.length} values are not rows of ${dim}`);
  const result = new Float64Array(features.length);
  for (let start = 0; start < features.length; start += dim) {
    let squares = 0;
    for (let j = 0; j < dim; j++) squares += features[start + j]! * features[start + j]!;
    const norm = Math.sqrt(squares);
    if (!(norm > 0) || !Number.isFinite(norm))
      throw invalid(`${what}: row ${start / dim} has no direction (zero or not finite)`, { row: start / dim });
    for (let j = 0; j < dim; j++) result[start + j] = features[start + j]! / norm;
  }
  return result;
}

function rows(features: Float64Array, dim: number, indices: Int32Array): Float64Array {
  const result = new Float64Array(indices.length * dim);
  indices.forEach((index, r) => result.set(features.subarray(index * dim, (index + 1) * dim), r * dim));
  return result;
}

function pick(labels: ClassIndices, indices: Int32Array): Int32Array {
  return Int32Array.from(indices, (index) => labels[index]!);
}

function meanAndStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  // Population standard deviation over seeds (numpy's default, ddof = 0).
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

interface SeedOutcome {
  weightDecay: number;
  metrics: ClassificationMetrics;
}

function probeOneSeed(
  input: LinearProbeInput,
  grid: readonly number[],
  train: Float64Array,
  test: Float64Array,
  shots: number | null,
  seed: number,
): SeedOutcome {
  const { dim, classCount } = input;
  const split = linearProbeSplit(
    input.train.labels,
    classCount,
    shots,
    seed,
    input.validationProportion,
    input.classNames,
  );
  const fit = (
    purpose: ProbeFit['purpose'],
    indices: Int32Array,
    weightDecay: number,
    initial?: LogisticRegressionModel,
  ) => {
    const model = fitLogisticRegression({
      features: rows(train, dim, indices),
      n: indices.length,
      dim,
      labels: pick(input.train.labels, indices),
      classCount,
      weightDecay,
      maxIterations: input.maxIterations,
      tolerance: input.tolerance,
      initial,
    });
    input.onFit?.({ shots, seed, weightDecay, purpose, iterations: model.iterations, converged: model.converged });
    return model;
  };

  let chosen = 0;
  if (grid.length > 1) {
    if (split.validation.length === 0)
      throw invalid(
        `no training samples are left for validation with ${shots ?? 'all'} shots; give more data or a single weight decay`,
        { shots },
      );
    const validationFeatures = rows(train, dim, split.validation);
    const validationLabels = pick(input.train.labels, split.validation);
    const fitted = new Map<number, LogisticRegressionModel>();
    chosen = searchWeightDecay(grid.length, (index) => {
      // Warm start from the nearest weight decay already solved: same optimum, fewer iterations.
      const nearest = [...fitted.keys()].sort((a, b) => Math.abs(a - index) - Math.abs(b - index) || a - b)[0];
      const model = fit('search', split.train, grid[index]!, nearest === undefined ? undefined : fitted.get(nearest));
      fitted.set(index, model);
      return validationScore(model, validationFeatures, validationLabels);
    });
  }
  const model = fit('final', split.final, grid[chosen]!);
  const probabilities = predictProbabilities(model, test, input.test.labels.length);
  return {
    weightDecay: grid[chosen]!,
    metrics: classificationMetrics(input.test.labels, argmaxRows(probabilities, classCount), classCount),
  };
}

function validationScore(model: LogisticRegressionModel, features: Float64Array, labels: Int32Array): ValidationScore {
  const probabilities = predictProbabilities(model, features, labels.length);
  const predictions = argmaxRows(probabilities, model.classCount);
  let correct = 0;
  let logLoss = 0;
  labels.forEach((label, i) => {
    if (predictions[i] === label) correct += 1;
    logLoss -= Math.log(Math.max(probabilities[i * model.classCount + label]!, Number.MIN_VALUE));
  });
  return { accuracy: correct / labels.length, logLoss: logLoss / labels.length };
}

/** One result per entry of `shots`, each over every seed. */
export function runLinearProbe(input: LinearProbeInput): LinearProbeShotResult[] {
  const { dim } = input;
  if (!Number.isInteger(dim) || dim < 1) throw invalid(`dim must be a positive integer, got ${dim}`);
  if (input.seeds.length === 0) throw invalid('a linear probe needs at least one seed');
  if (input.shots.length === 0) throw invalid('a linear probe needs at least one shots setting');
  const grid = input.weightDecayGrid ?? defaultWeightDecayGrid;
  if (
    grid.length === 0 ||
    grid.some((value, i) => !(value > 0) || !Number.isFinite(value) || (i > 0 && value <= grid[i - 1]!))
  )
    throw invalid('the weight-decay grid must be increasing positive numbers', { grid: [...grid] });
  const train = normalisedRows(input.train.features, dim, 'train features');
  const test = normalisedRows(input.test.features, dim, 'test features');
  if (train.length / dim !== input.train.labels.length)
    throw invalid(`${train.length / dim} train rows but ${input.train.labels.length} labels`);
  if (test.length / dim !== input.test.labels.length)
    throw invalid(`${test.length / dim} test rows but ${input.test.labels.length} labels`);
  if (input.test.labels.length === 0) throw invalid('the test split is empty');

  return input.shots.map((shots) => {
    const outcomes = input.seeds.map((seed) => probeOneSeed(input, grid, train, test, shots, seed));
    return {
      shots,
      seeds: [...input.seeds],
      weightDecay: outcomes.map((outcome) => outcome.weightDecay),
      accuracy: meanAndStd(outcomes.map((outcome) => outcome.metrics.accuracy)),
      balancedAccuracy: meanAndStd(outcomes.map((outcome) => outcome.metrics.balancedAccuracy)),
      weightedF1: meanAndStd(outcomes.map((outcome) => outcome.metrics.weightedF1)),
      firstSeed: outcomes[0]!.metrics,
    };
  });
}
