import { describe, expect, it } from 'vitest';
import {
  measurementFeatureNames,
  measurementFeatures,
  tissueQuality,
} from '../../activities/histology/measurement-features.js';
import { measurePatch } from '../../activities/histology/patch-measurements.js';
import { measurements } from './measurement-fixtures.js';
import { syntheticPatch, uniformPatch } from './synthetic-patches.js';

describe('measurementFeatures', () => {
  const patches = [
    syntheticPatch({ seed: 81, nucleiPerMm2: 6500 }),
    syntheticPatch({ seed: 82, nucleiPerMm2: 800, fatVacuoles: 8 }),
    syntheticPatch({ seed: 83, nucleiPerMm2: 3000, lumina: 10, backgroundFraction: 0.3, stromaEosin: 0.05 }),
  ];
  const measured = patches.map((patch) => measurePatch(patch.image, { mpp: patch.mpp }));

  it('is a fixed-length vector of finite values in [0, 2], named one to one', () => {
    const extremes = [
      measurePatch(uniformPatch(1, 1)),
      measurePatch(uniformPatch(8, 8, [5, 5, 5])),
      measurePatch(uniformPatch(8, 8, [20, 0, 40]), { mpp: 0.01 }),
    ];
    expect(new Set(measurementFeatureNames).size).toBe(measurementFeatureNames.length);
    for (const m of [...measured, ...extremes]) {
      const features = measurementFeatures(m);
      expect(features).toBeInstanceOf(Float32Array);
      expect(features.length).toBe(measurementFeatureNames.length);
      for (const value of features) {
        expect(Number.isFinite(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThanOrEqual(2);
      }
    }
  });

  it('keeps ordinary H&E within about [0, 1.1] and separates different fields', () => {
    for (const m of measured) for (const value of measurementFeatures(m)) expect(value).toBeLessThanOrEqual(1.1);
    const [dense, fatty, glandular] = measured.map(measurementFeatures);
    const distance = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((v, i) => v - b[i]!));
    expect(distance(dense!, fatty!)).toBeGreaterThan(0.5);
    expect(distance(dense!, glandular!)).toBeGreaterThan(0.5);
    const at = (name: string, features: Float32Array) => features[measurementFeatureNames.indexOf(name)];
    expect(at('nucleiPerMm2', dense!)).toBeGreaterThan(at('nucleiPerMm2', fatty!)!);
    expect(at('fatFraction', fatty!)).toBeGreaterThan(0.3);
  });
});

describe('tissueQuality', () => {
  it('is 0 for glass, high for well-stained tissue, and always in [0, 1]', () => {
    expect(tissueQuality(measurePatch(uniformPatch(64, 64)))).toBe(0);
    expect(tissueQuality(measurements({ tissueFraction: 0.95, edgeDensity: 0.08 }))).toBeGreaterThan(0.9);
    for (const m of [
      measurements(),
      measurements({ tissueFraction: 0 }),
      measurements({ hematoxylin: { mean: 3 }, eosin: { mean: 3 } }),
      measurePatch(uniformPatch(1, 1, [0, 0, 0])),
    ]) {
      const quality = tissueQuality(m);
      expect(quality).toBeGreaterThanOrEqual(0);
      expect(quality).toBeLessThanOrEqual(1);
    }
  });

  it('ranks partial, under-stained, over-stained and blurred patches lower', () => {
    const good = tissueQuality(measurements());
    expect(tissueQuality(measurements({ tissueFraction: 0.3, whiteFraction: 0.7 }))).toBeLessThan(good / 2);
    expect(tissueQuality(measurements({ hematoxylin: { mean: 0.02 }, eosin: { mean: 0.03 } }))).toBeLessThan(good / 2);
    expect(tissueQuality(measurements({ hematoxylin: { mean: 1.2 }, eosin: { mean: 0.4 } }))).toBeLessThan(good / 2);
    expect(tissueQuality(measurements({ edgeDensity: 0 }))).toBeLessThan(good);
  });
});
