// Classification and ROC metrics with scikit-learn's definitions, so numbers in our reports read the
// same as numbers in papers that used sklearn. Each function states the sklearn call it equals; the
// tests in test/eval compare against sklearn itself.
import { PathgenError } from '../common/errors.js';
import type { ClassificationMetrics, RocCurve } from './eval-types.js';

/** Class indices 0..classCount-1, one per sample. */
export type ClassIndices = ArrayLike<number>;

function invalid(message: string, details: Record<string, unknown> = {}): PathgenError<'InvalidInput'> {
  return new PathgenError('InvalidInput', message, details);
}

function checkClassCount(classCount: number): void {
  if (!Number.isInteger(classCount) || classCount < 1)
    throw invalid(`classCount must be a positive integer, got ${classCount}`, { classCount });
}

/** Throws InvalidInput unless every entry is an integer class index below classCount. */
export function checkClassIndices(values: ClassIndices, classCount: number, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (!Number.isInteger(value) || value < 0 || value >= classCount)
      throw invalid(`${what}[${i}] = ${value} is not a class index in 0..${classCount - 1}`, {
        what,
        index: i,
        value,
        classCount,
      });
  }
}

/**
 * accuracy_score, balanced_accuracy_score, f1_score(average='weighted' | 'macro', zero_division=0) and
 * confusion_matrix(labels=range(classCount)). As in sklearn (labels=None), macro and weighted F1 average
 * over the classes that occur in the labels or the predictions, and balanced accuracy over the classes
 * that occur in the labels; a class absent from both is not scored.
 */
export function classificationMetrics(
  labels: ClassIndices,
  predictions: ClassIndices,
  classCount: number,
): ClassificationMetrics {
  checkClassCount(classCount);
  if (labels.length !== predictions.length)
    throw invalid(`${labels.length} labels but ${predictions.length} predictions`, {
      labels: labels.length,
      predictions: predictions.length,
    });
  if (labels.length === 0) throw invalid('no samples to score');
  checkClassIndices(labels, classCount, 'labels');
  checkClassIndices(predictions, classCount, 'predictions');

  const confusion = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  for (let i = 0; i < labels.length; i++) confusion[labels[i]!]![predictions[i]!]! += 1;

  const count = labels.length;
  const support = confusion.map((row) => row.reduce((sum, value) => sum + value, 0));
  const predicted = confusion[0]!.map((_, column) => confusion.reduce((sum, row) => sum + row[column]!, 0));
  const correct = confusion.map((row, c) => row[c]!);
  const perClassAccuracy = correct.map((tp, c) => (support[c]! > 0 ? tp / support[c]! : 0));

  let recallSum = 0;
  let presentInLabels = 0;
  let f1Sum = 0;
  let weightedF1Sum = 0;
  let presentAnywhere = 0;
  for (let c = 0; c < classCount; c++) {
    const tp = correct[c]!;
    if (support[c]! > 0) {
      recallSum += perClassAccuracy[c]!;
      presentInLabels += 1;
    }
    // F1 = 2tp / (2tp + fp + fn) = 2tp / (support + predicted); zero_division=0 would only apply to a
    // class absent from both, which is not scored at all.
    const denominator = support[c]! + predicted[c]!;
    if (denominator === 0) continue;
    const f1 = (2 * tp) / denominator;
    f1Sum += f1;
    weightedF1Sum += f1 * support[c]!;
    presentAnywhere += 1;
  }

  return {
    accuracy: correct.reduce((sum, value) => sum + value, 0) / count,
    balancedAccuracy: recallSum / presentInLabels,
    weightedF1: weightedF1Sum / count,
    macroF1: f1Sum / presentAnywhere,
    confusion,
    perClassAccuracy,
    support,
    count,
  };
}

/** Index of the largest score in each row (the first one on ties, like numpy's argmax). */
export function argmaxRows(scores: ArrayLike<number>, classCount: number): Int32Array {
  checkClassCount(classCount);
  if (scores.length % classCount !== 0)
    throw invalid(`${scores.length} scores do not make rows of ${classCount}`, { scores: scores.length, classCount });
  const rows = scores.length / classCount;
  const result = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let c = 1; c < classCount; c++) if (scores[i * classCount + c]! > scores[i * classCount + best]!) best = c;
    result[i] = best;
  }
  return result;
}

/** Row-wise softmax, computed stably (the row maximum is subtracted first). */
export function softmaxRows(logits: ArrayLike<number>, classCount: number): Float64Array {
  checkClassCount(classCount);
  if (logits.length % classCount !== 0)
    throw invalid(`${logits.length} logits do not make rows of ${classCount}`, { logits: logits.length, classCount });
  const result = new Float64Array(logits.length);
  for (let start = 0; start < logits.length; start += classCount) {
    let max = -Infinity;
    for (let c = 0; c < classCount; c++) max = Math.max(max, logits[start + c]!);
    let sum = 0;
    for (let c = 0; c < classCount; c++) {
      const e = Math.exp(logits[start + c]! - max);
      result[start + c] = e;
      sum += e;
    }
    for (let c = 0; c < classCount; c++) result[start + c]! /= sum;
  }
  return result;
}

/** Cumulative true/false positive counts at each distinct score, highest score first (sklearn's _binary_clf_curve). */
interface CurveCounts {
  truePositives: number[];
  falsePositives: number[];
  positives: number;
  negatives: number;
}

function curveCounts(scores: ArrayLike<number>, positives: ArrayLike<boolean | number>, what: string): CurveCounts {
  if (scores.length !== positives.length)
    throw invalid(`${scores.length} scores but ${positives.length} labels`, {
      scores: scores.length,
      labels: positives.length,
    });
  if (scores.length === 0) throw invalid('no samples to score');
  const isPositive = new Array<boolean>(scores.length);
  let positiveCount = 0;
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i]!;
    if (!Number.isFinite(score)) throw invalid(`score ${i} is ${score}, not a finite number`, { index: i });
    const label = positives[i]!;
    if (label !== true && label !== false && label !== 0 && label !== 1)
      throw invalid(`label ${i} is ${String(label)}; a binary label is true/false or 1/0`, { index: i });
    isPositive[i] = label === true || label === 1;
    if (isPositive[i]) positiveCount += 1;
  }
  const negativeCount = scores.length - positiveCount;
  if (positiveCount === 0) throw invalid(`ROC is undefined for ${what}: it has no positive samples`, { what });
  if (negativeCount === 0) throw invalid(`ROC is undefined for ${what}: it has no negative samples`, { what });

  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const truePositives: number[] = [];
  const falsePositives: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let rank = 0; rank < order.length; rank++) {
    const index = order[rank]!;
    if (isPositive[index]) tp += 1;
    else fp += 1;
    const next = order[rank + 1];
    // One point per distinct score: tied samples enter the curve together.
    if (next === undefined || scores[next]! !== scores[index]!) {
      truePositives.push(tp);
      falsePositives.push(fp);
    }
  }
  return { truePositives, falsePositives, positives: positiveCount, negatives: negativeCount };
}

export interface RocCurveOptions {
  className?: string;
  /** sklearn's drop_intermediate: drop points on straight horizontal/vertical runs. Default false. */
  dropIntermediate?: boolean;
}

/**
 * sklearn.metrics.roc_curve(positives, scores, drop_intermediate=false by default), with the curve's AUC.
 * The curve starts at (0, 0) (sklearn's threshold +inf) and has one point per distinct score.
 */
export function rocCurve(
  scores: ArrayLike<number>,
  positives: ArrayLike<boolean | number>,
  options: RocCurveOptions = {},
): RocCurve {
  const className = options.className ?? 'positive';
  const counts = curveCounts(scores, positives, `class "${className}"`);
  let tps = counts.truePositives;
  let fps = counts.falsePositives;
  if (options.dropIntermediate && tps.length > 2) {
    const keep = tps.map(
      (_, i) =>
        i === 0 ||
        i === tps.length - 1 ||
        fps[i + 1]! - 2 * fps[i]! + fps[i - 1]! !== 0 ||
        tps[i + 1]! - 2 * tps[i]! + tps[i - 1]! !== 0,
    );
    tps = tps.filter((_, i) => keep[i]);
    fps = fps.filter((_, i) => keep[i]);
  }
  return {
    className,
    fpr: [0, ...fps.map((fp) => fp / counts.negatives)],
    tpr: [0, ...tps.map((tp) => tp / counts.positives)],
    auc: aucFromCounts(counts),
  };
}

/** Trapezoid area under the full curve, in integer counts until the last division (exact for ties). */
function aucFromCounts(counts: CurveCounts): number {
  let area = 0;
  let previousTp = 0;
  let previousFp = 0;
  for (let i = 0; i < counts.truePositives.length; i++) {
    const tp = counts.truePositives[i]!;
    const fp = counts.falsePositives[i]!;
    area += (fp - previousFp) * (tp + previousTp);
    previousTp = tp;
    previousFp = fp;
  }
  return area / (2 * counts.positives * counts.negatives);
}

/**
 * sklearn.metrics.roc_auc_score for a binary task: the trapezoid under the ROC over distinct scores, which
 * equals the Mann–Whitney probability that a positive outscores a negative, ties counting one half.
 */
export function rocAuc(scores: ArrayLike<number>, positives: ArrayLike<boolean | number>, what = 'the task'): number {
  return aucFromCounts(curveCounts(scores, positives, what));
}

function classColumn(scores: ArrayLike<number>, rows: number, classCount: number, c: number): Float64Array {
  const column = new Float64Array(rows);
  for (let i = 0; i < rows; i++) column[i] = scores[i * classCount + c]!;
  return column;
}

function checkScoreRows(scores: ArrayLike<number>, labels: ClassIndices, classCount: number): void {
  checkClassCount(classCount);
  if (classCount < 2) throw invalid('AUROC needs at least two classes', { classCount });
  if (scores.length !== labels.length * classCount)
    throw invalid(`${scores.length} scores do not make ${labels.length} rows of ${classCount} classes`, {
      scores: scores.length,
      labels: labels.length,
      classCount,
    });
  checkClassIndices(labels, classCount, 'labels');
}

function oneVsRest(labels: ClassIndices, c: number): Uint8Array {
  return Uint8Array.from({ length: labels.length }, (_, i) => (labels[i] === c ? 1 : 0));
}

function nameOf(classNames: readonly string[] | undefined, c: number): string {
  return classNames?.[c] ?? String(c);
}

/**
 * Macro AUROC: for two classes the AUROC of class 1's score (sklearn's binary roc_auc_score on
 * scores[:, 1]); for more, roc_auc_score(multi_class='ovr', average='macro', labels=range(classCount)).
 * Scores are n rows of classCount (probabilities or any monotone score; sklearn insists on probabilities
 * only as a sanity check). A class with no positives or no negatives in the labels is an InvalidInput.
 */
export function macroAurocOvr(
  scores: ArrayLike<number>,
  labels: ClassIndices,
  classCount: number,
  classNames?: readonly string[],
): number {
  checkScoreRows(scores, labels, classCount);
  const rows = labels.length;
  if (classCount === 2)
    return rocAuc(classColumn(scores, rows, 2, 1), oneVsRest(labels, 1), `class "${nameOf(classNames, 1)}"`);
  let sum = 0;
  for (let c = 0; c < classCount; c++)
    sum += rocAuc(classColumn(scores, rows, classCount, c), oneVsRest(labels, c), `class "${nameOf(classNames, c)}"`);
  return sum / classCount;
}

/** The curves behind macroAurocOvr: class 1's alone for two classes, one per class otherwise. */
export function rocCurvesOvr(
  scores: ArrayLike<number>,
  labels: ClassIndices,
  classNames: readonly string[],
  options: Omit<RocCurveOptions, 'className'> = {},
): RocCurve[] {
  const classCount = classNames.length;
  checkScoreRows(scores, labels, classCount);
  const classes = classCount === 2 ? [1] : classNames.map((_, c) => c);
  return classes.map((c) =>
    rocCurve(classColumn(scores, labels.length, classCount, c), oneVsRest(labels, c), {
      ...options,
      className: nameOf(classNames, c),
    }),
  );
}
