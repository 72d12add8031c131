import { XMLValidator } from 'fast-xml-parser';
import { expect } from 'vitest';
import type { ClassificationMetrics, EvalReport } from '../../../activities/eval/eval-types.js';

// A small EvalReport with one task of each kind, hand-made so every number in it is known, and a
// well-formedness check for the SVG and HTML the renderers write.

/** Metrics consistent with a confusion matrix (accuracy and recalls computed from it). */
export function metricsOf(confusion: number[][], f1: { weighted: number; macro: number }): ClassificationMetrics {
  const support = confusion.map((row) => row.reduce((sum, value) => sum + value, 0));
  const count = support.reduce((sum, value) => sum + value, 0);
  const correct = confusion.reduce((sum, row, index) => sum + (row[index] ?? 0), 0);
  const perClassAccuracy = confusion.map((row, index) =>
    (support[index] ?? 0) > 0 ? (row[index] ?? 0) / (support[index] ?? 1) : 0,
  );
  const present = perClassAccuracy.filter((_, index) => (support[index] ?? 0) > 0);
  return {
    accuracy: correct / count,
    balancedAccuracy: present.reduce((sum, value) => sum + value, 0) / present.length,
    weightedF1: f1.weighted,
    macroF1: f1.macro,
    confusion,
    perClassAccuracy,
    support,
    count,
  };
}

export const trickyClass = '<b>&"tumour"|x</b>';

export function sampleReport(): EvalReport {
  const crc = metricsOf(
    [
      [45, 3, 2],
      [4, 40, 6],
      [0, 10, 40],
    ],
    { weighted: 0.8312, macro: 0.8297 },
  );
  const tricky = metricsOf(
    [
      [30, 10],
      [5, 55],
    ],
    { weighted: 0.8507, macro: 0.8449 },
  );
  const probe = metricsOf(
    [
      [20, 5],
      [3, 22],
    ],
    { weighted: 0.8395, macro: 0.8395 },
  );
  const slide = metricsOf(
    [
      [18, 2],
      [3, 12],
    ],
    { weighted: 0.8566, macro: 0.8526 },
  );
  return {
    evalId: 'eval-7',
    model: { id: 'pathgen-clip-b16', name: 'PathGen-CLIP', version: '2' },
    startedAt: '2025-01-02T10:00:00.000Z',
    finishedAt: '2025-01-02T10:12:30.000Z',
    features: { embedded: 1200, cached: 300 },
    tasks: [
      {
        kind: 'zero-shot',
        dataset: 'crc-100k',
        classes: ['adipose tissue', 'debris', 'colorectal adenocarcinoma epithelium'],
        templates: ['An H&E image of {class}', 'an H&E stained image of {class}.'],
        ensemble: false,
        logitScale: 100,
        metrics: crc,
      },
      {
        kind: 'zero-shot',
        dataset: 'Tricky <set> & co',
        classes: ['normal', trickyClass],
        templates: ['An H&E image of {class}', '{class}.'],
        ensemble: true,
        logitScale: 100,
        metrics: tricky,
      },
      {
        kind: 'linear-probe',
        dataset: 'crc-100k',
        classes: ['a', 'b'],
        results: [
          {
            shots: 1,
            seeds: [0, 1, 2],
            weightDecay: [0.001, 0.01, 0.001],
            accuracy: { mean: 0.5123, std: 0.0456 },
            balancedAccuracy: { mean: 0.5011, std: 0.0398 },
            weightedF1: { mean: 0.4874, std: 0.0512 },
            firstSeed: probe,
          },
          {
            shots: null,
            seeds: [0],
            weightDecay: [0.0001],
            accuracy: { mean: 0.8404, std: 0 },
            balancedAccuracy: { mean: 0.8404, std: 0 },
            weightedF1: { mean: 0.8395, std: 0 },
            firstSeed: probe,
          },
        ],
      },
      {
        kind: 'slide',
        task: 'CAMELYON16',
        classes: ['normal', 'tumor'],
        auroc: 0.9261,
        accuracy: slide.accuracy,
        macroF1: slide.macroF1,
        metrics: slide,
        roc: [{ className: 'tumor', fpr: [0, 0, 0.1, 0.25, 1], tpr: [0, 0.5, 0.8, 1, 1], auc: 0.9261 }],
        slides: { train: 200, validation: 40, test: 35, skipped: [{ slide: 'test_049', reason: 'NoTissue' }] },
      },
    ],
  };
}

/** Fails the test with the parser's message when `xml` is not well-formed. */
export function expectWellFormed(xml: string): void {
  const result = XMLValidator.validate(xml);
  expect(result === true ? 'well-formed' : JSON.stringify(result.err)).toBe('well-formed');
}
