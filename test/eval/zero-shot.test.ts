import { describe, expect, it } from 'vitest';
import { formatPrompts, zeroShotClassifier, zeroShotLogits, zeroShotPredict } from '../../activities/eval/zero-shot.js';
import { invalidMessage } from './invalid-input.js';
import { nested, sklearnReference } from './sklearn-reference.js';
import { gaussian } from '../../workers/synthetic/datasets/synthetic-features.js';

describe('formatPrompts', () => {
  it('fills {class} and {} with the class name', () => {
    expect(formatPrompts(['An H&E image of {class}.', 'a photo of {}, a type of {}'], 'adipose tissue')).toEqual([
      'An H&E image of adipose tissue.',
      'a photo of adipose tissue, a type of adipose tissue',
    ]);
  });

  it('rejects a template without a placeholder and an empty template list', () => {
    expect(invalidMessage(() => formatPrompts(['An H&E image of {c}'], 'tumour'))).toMatch(/has no \{class\}/);
    expect(invalidMessage(() => formatPrompts([], 'tumour'))).toMatch(/no prompt templates/);
  });
});

describe('zero-shot by hand', () => {
  it('scores logit scale × cosine and predicts the larger', () => {
    // Class 0 along x, class 1 along y (lengths do not matter); image (3, 4) normalises to (0.6, 0.8).
    const classifier = zeroShotClassifier([Float32Array.of(2, 0), Float32Array.of(0, 5)], 2);
    const logits = zeroShotLogits(Float32Array.of(3, 4), 1, classifier, 100);
    expect(logits[0]).toBeCloseTo(60, 10);
    expect(logits[1]).toBeCloseTo(80, 10);
    const { predictions, probabilities } = zeroShotPredict(logits, 2);
    expect([...predictions]).toEqual([1]);
    // softmax(60, 80): class 1 has 1 / (1 + e^-20).
    expect(probabilities[1]).toBeCloseTo(1 / (1 + Math.exp(-20)), 12);
  });

  it('uses the first template by default and the renormalised mean of normalised templates when ensembling', () => {
    // Class 0 templates (2, 0) and (0, 5): normalised (1, 0) and (0, 1), mean (0.5, 0.5), renormalised (1/√2, 1/√2).
    const text = [Float32Array.of(2, 0, 0, 5), Float32Array.of(0, -1, 0, -1)];
    const image = Float32Array.of(3, 4);
    expect(zeroShotLogits(image, 1, zeroShotClassifier(text, 2))[0]).toBeCloseTo(60, 10);
    // (0.6 + 0.8)/√2 · 100.
    expect(zeroShotLogits(image, 1, zeroShotClassifier(text, 2, { ensemble: true }))[0]).toBeCloseTo(
      (1.4 / Math.SQRT2) * 100,
      10,
    );
  });

  it('rejects malformed embeddings', () => {
    expect(invalidMessage(() => zeroShotClassifier([Float32Array.of(1, 0)], 2))).toMatch(/at least two classes/);
    expect(invalidMessage(() => zeroShotClassifier([Float32Array.of(1, 0, 1), Float32Array.of(0, 1)], 2))).toMatch(
      /class 0: 3 values are not rows of 2/,
    );
    expect(invalidMessage(() => zeroShotClassifier([Float32Array.of(0, 0), Float32Array.of(0, 1)], 2))).toMatch(
      /class 0, template 0: the text embedding has no direction/,
    );
    expect(
      invalidMessage(() =>
        zeroShotClassifier([Float32Array.of(1, 0, -1, 0), Float32Array.of(0, 1)], 2, { ensemble: true }),
      ),
    ).toMatch(/cancel out/);
    const classifier = zeroShotClassifier([Float32Array.of(1, 0), Float32Array.of(0, 1)], 2);
    expect(invalidMessage(() => zeroShotLogits(Float32Array.of(1, 0, 0), 2, classifier))).toMatch(/not 2 rows of 2/);
    expect(invalidMessage(() => zeroShotLogits(Float32Array.of(1, 0, 0, 0), 2, classifier))).toMatch(
      /image 1: its embedding has no direction/,
    );
  });
});

describe('zero-shot against numpy', () => {
  it('matches normalise → matmul → ×100 → argmax, with and without ensembling', async () => {
    const draw = gaussian(5);
    const dim = 64;
    const classCount = 6;
    const templates = 3;
    const n = 80;
    const text = Array.from({ length: classCount }, () => Float32Array.from({ length: templates * dim }, () => draw()));
    const image = Float32Array.from({ length: n * dim }, () => draw());
    const [plain, ensembled] = await sklearnReference<{ logits: number[][]; predictions: number[] }>(
      [false, true].map((ensemble) => ({
        command: 'zero-shot',
        image: nested(image, dim),
        text: text.map((rows) => nested(rows, dim)),
        ensemble,
        logitScale: 100,
      })),
    );
    for (const [ensemble, reference] of [
      [false, plain!],
      [true, ensembled!],
    ] as const) {
      const logits = zeroShotLogits(image, n, zeroShotClassifier(text, dim, { ensemble }), 100);
      let largest = 0;
      reference.logits.flat().forEach((value, k) => (largest = Math.max(largest, Math.abs(value - logits[k]!))));
      expect(largest).toBeLessThan(1e-4);
      expect([...zeroShotPredict(logits, classCount).predictions]).toEqual(reference.predictions);
    }
  });
});
