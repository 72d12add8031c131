import { describe, expect, it } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';
import {
  argmaxRows,
  classificationMetrics,
  macroAurocOvr,
  rocAuc,
  rocCurve,
  rocCurvesOvr,
  softmaxRows,
} from '../../activities/eval/metrics.js';
import { seededRandom } from '../../activities/common/seeded-random.js';
import { nested, sklearnReference } from './sklearn-reference.js';

function expectInvalid(run: () => unknown, message: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PathgenError);
    expect((error as PathgenError).code).toBe('InvalidInput');
    expect((error as PathgenError).message).toMatch(message);
    return;
  }
  throw new Error('expected an InvalidInput error');
}

describe('classificationMetrics by hand', () => {
  it('scores a four-class task where class 3 never occurs', () => {
    const metrics = classificationMetrics([0, 0, 0, 1, 1, 2], [0, 1, 0, 1, 2, 2], 4);
    expect(metrics.confusion).toEqual([
      [2, 1, 0, 0],
      [0, 1, 1, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
    expect(metrics.support).toEqual([3, 2, 1, 0]);
    expect(metrics.count).toBe(6);
    // 4 of 6 on the diagonal.
    expect(metrics.accuracy).toBeCloseTo(4 / 6, 12);
    // Recalls 2/3, 1/2, 1/1; class 3 has no samples, so it is neither in the mean nor a NaN.
    expect(metrics.perClassAccuracy).toEqual([2 / 3, 1 / 2, 1, 0]);
    expect(metrics.balancedAccuracy).toBeCloseTo((2 / 3 + 1 / 2 + 1) / 3, 12); // 13/18
    // F1 = 2tp/(support + predicted): class 0 4/(3+2) = 0.8, class 1 2/(2+2) = 0.5, class 2 2/(1+2) = 2/3.
    // Macro over the classes seen in labels or predictions (sklearn's default labels): (0.8+0.5+2/3)/3.
    expect(metrics.macroF1).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 3, 12); // 59/90
    // Weighted by support: (3·0.8 + 2·0.5 + 1·2/3)/6 = 61/90.
    expect(metrics.weightedF1).toBeCloseTo(61 / 90, 12);
  });

  it('gives a class that is never predicted an F1 of 0 (zero_division=0)', () => {
    const metrics = classificationMetrics([0, 0, 1, 1], [0, 0, 0, 0], 2);
    expect(metrics.accuracy).toBe(0.5);
    // Recalls 1 and 0.
    expect(metrics.balancedAccuracy).toBe(0.5);
    // Class 0: 2·2/(2+4) = 2/3; class 1: precision 0/0 → 0, F1 0.
    expect(metrics.macroF1).toBeCloseTo(1 / 3, 12);
    // (2·2/3 + 2·0)/4.
    expect(metrics.weightedF1).toBeCloseTo(1 / 3, 12);
  });

  it('counts a class that is only predicted in macro F1 but not in balanced accuracy', () => {
    const metrics = classificationMetrics([0, 0, 1], [0, 2, 1], 3);
    // Recalls 1/2 and 1; class 2 has no true samples.
    expect(metrics.balancedAccuracy).toBeCloseTo(0.75, 12);
    // F1: class 0 2/(2+1) = 2/3, class 1 2/(1+1) = 1, class 2 0/(0+1) = 0 → macro 5/9.
    expect(metrics.macroF1).toBeCloseTo(5 / 9, 12);
    // (2·2/3 + 1·1 + 0·0)/3 = 7/9.
    expect(metrics.weightedF1).toBeCloseTo(7 / 9, 12);
  });

  it('rejects mismatched, empty and out-of-range input', () => {
    expectInvalid(() => classificationMetrics([0, 1], [0], 2), /2 labels but 1 predictions/);
    expectInvalid(() => classificationMetrics([], [], 2), /no samples/);
    expectInvalid(() => classificationMetrics([0, 2], [0, 1], 2), /labels\[1\] = 2 is not a class index in 0\.\.1/);
    expectInvalid(() => classificationMetrics([0, 1], [0, -1], 2), /predictions\[1\] = -1/);
    expectInvalid(() => classificationMetrics([0, 1], [0, 0.5], 2), /predictions\[1\] = 0.5/);
    expectInvalid(() => classificationMetrics([0], [0], 0), /classCount must be a positive integer/);
  });
});

describe('argmax and softmax', () => {
  it('takes the first maximum on ties, like numpy', () => {
    expect([...argmaxRows([5, 5, 1, 0, 2, 2], 3)]).toEqual([0, 1]);
  });

  it('softmax rows sum to one and survive large logits', () => {
    // softmax(1000, 1000 + ln 3) = (1/4, 3/4).
    const probabilities = softmaxRows([1000, 1000 + Math.log(3)], 2);
    expect(probabilities[0]).toBeCloseTo(0.25, 12);
    expect(probabilities[1]).toBeCloseTo(0.75, 12);
  });
});

describe('ROC by hand', () => {
  // Scores 0.9+, 0.8+, 0.8−, 0.4−, 0.3+ : 3 positives, 2 negatives, one tie across the classes.
  const scores = [0.9, 0.8, 0.8, 0.4, 0.3];
  const positives = [1, 1, 0, 0, 1];

  it('has one point per distinct score, from (0,0) to (1,1)', () => {
    const curve = rocCurve(scores, positives, { className: 'tumour' });
    expect(curve.className).toBe('tumour');
    // Cumulative (tp, fp) after 0.9: (1,0); after both 0.8: (2,1); after 0.4: (2,2); after 0.3: (3,2).
    expect(curve.fpr).toEqual([0, 0, 0.5, 1, 1]);
    expect(curve.tpr).toEqual([0, 1 / 3, 2 / 3, 2 / 3, 1]);
  });

  it('counts a tied positive–negative pair as one half (Mann–Whitney)', () => {
    // Pairs won by each positive: 0.9 beats both negatives (2), 0.8 ties 0.8 and beats 0.4 (1.5),
    // 0.3 beats none (0): 3.5 of 6 pairs. Trapezoid: 0.5·(1/3+2/3)/2 + 0.5·(2/3+2/3)/2 = 0.25 + 1/3.
    expect(rocAuc(scores, positives)).toBeCloseTo(7 / 12, 12);
    expect(rocCurve(scores, positives).auc).toBeCloseTo(7 / 12, 12);
    expect(rocAuc([0.5, 0.5, 0.5], [true, false, true])).toBe(0.5);
  });

  it('macro AUROC: class 1 for two classes, the mean of one-vs-rest for more', () => {
    // Class 1 scores 0.2−, 0.7+, 0.4−, 0.3+: 0.7 beats both negatives, 0.3 beats 0.2 only → 3/4.
    expect(macroAurocOvr([0.8, 0.2, 0.3, 0.7, 0.6, 0.4, 0.7, 0.3], [0, 1, 0, 1], 2)).toBeCloseTo(0.75, 12);
    const probabilities = [0.7, 0.2, 0.1, 0.2, 0.5, 0.3, 0.1, 0.3, 0.6, 0.6, 0.3, 0.1];
    // Class 0 (sample 0): 0.7 beats 0.2, 0.1, 0.6 → 1. Class 1 (samples 1, 3: 0.5, 0.3) against
    // 0.2, 0.3: 2 + 1.5 of 4 → 0.875. Class 2 (sample 2: 0.6) beats 0.1, 0.3, 0.1 → 1.
    expect(macroAurocOvr(probabilities, [0, 1, 2, 1], 3)).toBeCloseTo((1 + 0.875 + 1) / 3, 12);
    const curves = rocCurvesOvr(probabilities, [0, 1, 2, 1], ['a', 'b', 'c']);
    expect(curves.map((curve) => [curve.className, curve.auc])).toEqual([
      ['a', 1],
      ['b', 0.875],
      ['c', 1],
    ]);
    expect(rocCurvesOvr([0.8, 0.2, 0.3, 0.7], [0, 1], ['normal', 'tumour']).map((curve) => curve.className)).toEqual([
      'tumour',
    ]);
  });

  it('names the class that has no positives or no negatives', () => {
    expectInvalid(
      () => macroAurocOvr([0.5, 0.3, 0.2, 0.1, 0.8, 0.1], [0, 1], 3, ['a', 'b', 'c']),
      /class "c".*no positive/,
    );
    expectInvalid(() => rocAuc([0.1, 0.2], [1, 1], 'class "tumour"'), /class "tumour".*no negative/);
    expectInvalid(() => rocCurve([0.1, 0.2], [0, 0]), /no positive/);
    expectInvalid(() => rocAuc([0.1], [1, 0]), /1 scores but 2 labels/);
    expectInvalid(() => rocAuc([], []), /no samples/);
    expectInvalid(() => rocAuc([0.1, Number.NaN], [1, 0]), /score 1 is NaN/);
    expectInvalid(() => rocAuc([0.1, 0.2], [1, 2]), /label 1 is 2/);
    expectInvalid(() => macroAurocOvr([0.5, 0.5], [0], 3), /do not make 1 rows of 3/);
    expectInvalid(() => macroAurocOvr([0.5, 0.5, 0.5, 0.5], [0, 2], 2), /labels\[1\] = 2/);
  });
});

describe('metrics against scikit-learn', () => {
  it('match accuracy, balanced accuracy, F1, confusion, ROC curves and AUROC to 1e-4', async () => {
    const random = seededRandom(11);
    const classCount = 5;
    const metricCases = [0, 1, 2, 3].map((k) => {
      const n = 40 + 20 * k;
      const labels = Array.from({ length: n }, () => Math.floor(random() * (classCount - (k === 1 ? 1 : 0))));
      // Mostly right, sometimes another class; case 2 never predicts class 4, case 3 predicts one class too often.
      const predictions = labels.map((label) =>
        random() < 0.6 ? label : Math.floor(random() * (k === 2 ? classCount - 1 : classCount)),
      );
      if (k === 3) for (let i = 0; i < n; i += 3) predictions[i] = 0;
      return { labels, predictions };
    });
    // Scores rounded to one decimal so many tie; a second case without ties.
    const rocCases = [0, 1].map((k) => {
      const positives = Array.from({ length: 60 }, () => (random() < 0.4 ? 1 : 0));
      const scores = positives.map((p) => {
        const score = random() + 0.3 * p;
        return k === 0 ? Math.round(score * 10) / 10 : score;
      });
      return { scores, positives };
    });
    const ovrCases = [2, 4].map((classes) => {
      const labels = Array.from({ length: 50 }, (_, i) => i % classes);
      const logits = labels.flatMap((label) =>
        Array.from({ length: classes }, (_, c) => Math.round((random() + (c === label ? 0.5 : 0)) * 20) / 20),
      );
      return { labels, probabilities: softmaxRows(logits, classes), classes };
    });

    const reference = await sklearnReference([
      ...metricCases.map((c) => ({ command: 'metrics', ...c, classCount })),
      ...rocCases.flatMap((c) => [
        { command: 'roc', ...c, dropIntermediate: false },
        { command: 'roc', ...c, dropIntermediate: true },
      ]),
      ...ovrCases.map((c) => ({
        command: 'auroc-ovr',
        scores: nested(c.probabilities, c.classes),
        labels: c.labels,
        classCount: c.classes,
      })),
    ]);

    metricCases.forEach((c, i) => {
      const ours = classificationMetrics(c.labels, c.predictions, classCount);
      const theirs = reference[i] as Record<string, number | number[][]>;
      for (const key of ['accuracy', 'balancedAccuracy', 'weightedF1', 'macroF1'] as const)
        expect(Math.abs(ours[key] - (theirs[key] as number)), `case ${i} ${key}`).toBeLessThan(1e-4);
      expect(ours.confusion).toEqual(theirs.confusion);
    });
    rocCases.forEach((c, i) => {
      for (const [offset, dropIntermediate] of [
        [0, false],
        [1, true],
      ] as const) {
        const theirs = reference[metricCases.length + 2 * i + offset] as { fpr: number[]; tpr: number[]; auc: number };
        const ours = rocCurve(c.scores, c.positives, { dropIntermediate });
        expect(ours.fpr.length).toBe(theirs.fpr.length);
        ours.fpr.forEach((value, k) => expect(Math.abs(value - theirs.fpr[k]!)).toBeLessThan(1e-12));
        ours.tpr.forEach((value, k) => expect(Math.abs(value - theirs.tpr[k]!)).toBeLessThan(1e-12));
        expect(Math.abs(ours.auc - theirs.auc)).toBeLessThan(1e-12);
      }
    });
    expect(rocCurve(rocCases[1]!.scores, rocCases[1]!.positives, { dropIntermediate: true }).fpr.length).toBeLessThan(
      rocCurve(rocCases[1]!.scores, rocCases[1]!.positives).fpr.length,
    );
    ovrCases.forEach((c, i) => {
      const theirs = reference[metricCases.length + 2 * rocCases.length + i] as { auroc: number };
      expect(Math.abs(macroAurocOvr(c.probabilities, c.labels, c.classes) - theirs.auroc)).toBeLessThan(1e-12);
    });
  });
});
