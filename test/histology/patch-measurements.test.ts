import { describe, expect, it } from 'vitest';
import { isPathgenError } from '../../activities/common/errors.js';
import { measurePatch, type PatchMeasurements } from '../../activities/histology/patch-measurements.js';
import { syntheticPatch, uniformPatch, type SyntheticPatch } from './synthetic-patches.js';

const pixels = 672 * 672;

function measured(patch: SyntheticPatch): PatchMeasurements {
  return measurePatch(patch.image, { mpp: patch.mpp });
}

/** Every number anywhere in the measurements is finite. */
function expectAllFinite(value: unknown): void {
  if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);
  else if (typeof value === 'object' && value !== null)
    for (const inner of Object.values(value)) expectAllFinite(inner);
}

describe('nuclei', () => {
  const dense = syntheticPatch({ seed: 11, nucleiPerMm2: 6500 });
  const sparse = syntheticPatch({ seed: 12, nucleiPerMm2: 900 });

  it('counts the nuclei drawn within 5 % and gives their density per mm² of section', () => {
    for (const patch of [dense, sparse]) {
      const m = measured(patch);
      expect(Math.abs(m.nuclei.count - patch.truth.nuclei)).toBeLessThanOrEqual(Math.ceil(0.05 * patch.truth.nuclei));
      expect(m.nuclei.perMm2! / patch.truth.nucleiPerMm2).toBeCloseTo(m.nuclei.count / patch.truth.nuclei, 6);
    }
    expect(dense.truth.nuclei).toBeGreaterThan(150);
    expect(measured(dense).nuclei.perMm2).toBeGreaterThan(5 * measured(sparse).nuclei.perMm2!);
  });

  it('counts clumps of touching and overlapping nuclei by area, within 10 %', () => {
    for (const seed of [21, 22]) {
      const patch = syntheticPatch({ seed, nucleiPerMm2: 8000, nucleusGapPx: -4 });
      const m = measured(patch);
      expect(Math.abs(m.nuclei.count - patch.truth.nuclei)).toBeLessThanOrEqual(0.1 * patch.truth.nuclei);
    }
  });

  it('measures nuclear area in µm² and its variation', () => {
    const uniform = measured(
      syntheticPatch({ seed: 13, nucleiPerMm2: 3000, nucleusRadiusUm: 4, nucleusRadiusSpread: 0.05 }),
    );
    const varied = measured(
      syntheticPatch({ seed: 13, nucleiPerMm2: 3000, nucleusRadiusUm: 4, nucleusRadiusSpread: 0.5 }),
    );
    // Drawn ellipses average π r² × 0.875 (aspect 0.75–1) ≈ 44 µm² at r = 4 µm.
    expect(uniform.nuclei.meanAreaUm2).toBeGreaterThan(35);
    expect(uniform.nuclei.meanAreaUm2).toBeLessThan(50);
    expect(uniform.nuclei.meanAreaPx).toBeCloseTo(uniform.nuclei.meanAreaUm2! / 0.25 ** 2, 6);
    expect(varied.nuclei.areaCv).toBeGreaterThan(2 * uniform.nuclei.areaCv);
  });

  it('scales per-mm² figures with the microns per pixel', () => {
    const at40x = measurePatch(dense.image, { mpp: 0.25 });
    const at20x = measurePatch(dense.image, { mpp: 0.5 });
    expect(at20x.nuclei.count).toBe(at40x.nuclei.count);
    expect(at40x.nuclei.perMm2! / at20x.nuclei.perMm2!).toBeCloseTo(4, 6);
    expect(at20x.nuclei.meanAreaUm2! / at40x.nuclei.meanAreaUm2!).toBeCloseTo(4, 6);
    const drawnAt20x = syntheticPatch({ seed: 14, nucleiPerMm2: 4000, mpp: 0.5 });
    expect(measured(drawnAt20x).nuclei.perMm2! / drawnAt20x.truth.nucleiPerMm2).toBeCloseTo(1, 1);
  });

  it('leaves density and µm² out when the microns per pixel are unknown', () => {
    const m = measurePatch(dense.image);
    expect(m.mpp).toBeUndefined();
    expect(m.nuclei.perMm2).toBeUndefined();
    expect(m.nuclei.meanAreaUm2).toBeUndefined();
    expect(m.nuclei.count).toBeGreaterThan(150);
  });
});

describe('staining', () => {
  it('orders eosin-rich above pale stroma, in mean, 90th percentile and eosin dominance', () => {
    const pale = measured(syntheticPatch({ seed: 31, nucleiPerMm2: 2500, stromaEosin: 0.05 }));
    const rich = measured(syntheticPatch({ seed: 32, nucleiPerMm2: 2500, stromaEosin: 0.32 }));
    expect(pale.eosin.mean).toBeLessThan(0.08);
    expect(rich.eosin.mean).toBeGreaterThan(0.25);
    expect(rich.eosin.p90).toBeGreaterThan(pale.eosin.p90);
    expect(rich.eosinDominantFraction).toBeGreaterThan(0.8);
    expect(pale.eosinDominantFraction).toBeLessThan(0.2);
  });

  it('sees more hematoxylin where there are more nuclei', () => {
    const dense = measured(syntheticPatch({ seed: 33, nucleiPerMm2: 6000 }));
    const sparse = measured(syntheticPatch({ seed: 34, nucleiPerMm2: 800 }));
    expect(dense.hematoxylin.mean).toBeGreaterThan(2 * sparse.hematoxylin.mean);
    expect(dense.hematoxylin.p90).toBeGreaterThan(0.5);
    expect(sparse.hematoxylin.p90).toBeLessThan(0.1);
  });
});

describe('white space', () => {
  it('calls large round vacuoles fat, and nothing else', () => {
    const patch = syntheticPatch({ seed: 41, nucleiPerMm2: 500, fatVacuoles: 8 });
    const m = measured(patch);
    expect(patch.truth.fatPx / pixels).toBeGreaterThan(0.3);
    expect(m.fatFraction).toBeCloseTo(patch.truth.fatPx / pixels, 2);
    expect(m.lumenFraction).toBe(0);
    expect(m.tissueFraction).toBeCloseTo(patch.truth.stromaPx / pixels, 2);
  });

  it('calls slits and small acini enclosed by tissue lumina', () => {
    const patch = syntheticPatch({ seed: 42, nucleiPerMm2: 4000, lumina: 14 });
    const m = measured(patch);
    expect(patch.truth.lumenPx).toBeGreaterThan(0);
    expect(m.lumenFraction).toBeCloseTo(patch.truth.lumenPx / pixels, 2);
    expect(m.fatFraction).toBe(0);
  });

  it('calls glass along the edge background: white, neither fat nor lumen, not tissue', () => {
    const patch = syntheticPatch({ seed: 43, nucleiPerMm2: 3000, backgroundFraction: 0.4, fatVacuoles: 2, lumina: 6 });
    const m = measured(patch);
    const background = m.whiteFraction - m.fatFraction - m.lumenFraction;
    expect(background).toBeCloseTo(patch.truth.backgroundPx / pixels, 2);
    expect(m.fatFraction).toBeCloseTo(patch.truth.fatPx / pixels, 2);
    expect(m.lumenFraction).toBeCloseTo(patch.truth.lumenPx / pixels, 2);
    expect(m.tissueFraction).toBeCloseTo(patch.truth.stromaPx / pixels, 2);
    // Density is per mm² of section, so the glass does not dilute it.
    expect(m.nuclei.perMm2! / patch.truth.nucleiPerMm2).toBeCloseTo(1, 1);
  });
});

describe('edges', () => {
  it('finds more edge texture with more nuclei, and none in a flat patch', () => {
    const dense = measured(syntheticPatch({ seed: 51, nucleiPerMm2: 6000 }));
    const sparse = measured(syntheticPatch({ seed: 52, nucleiPerMm2: 800 }));
    expect(dense.edgeDensity).toBeGreaterThan(3 * sparse.edgeDensity);
    expect(measurePatch(uniformPatch(64, 64, [230, 150, 200])).edgeDensity).toBe(0);
  });
});

describe('edge cases', () => {
  it('gives sensible zeros, and no NaN, for a blank white patch', () => {
    const m = measurePatch(uniformPatch(672, 672), { mpp: 0.25 });
    expect(m).toEqual({
      widthPx: 672,
      heightPx: 672,
      mpp: 0.25,
      tissueFraction: 0,
      whiteFraction: 1,
      fatFraction: 0,
      lumenFraction: 0,
      hematoxylin: { mean: 0, p90: 0 },
      eosin: { mean: 0, p90: 0 },
      eosinDominantFraction: 0,
      nuclei: { count: 0, perMm2: 0, meanAreaPx: 0, meanAreaUm2: 0, areaCv: 0 },
      edgeDensity: 0,
    });
  });

  it('measures a 1×1 patch', () => {
    const purple = measurePatch(uniformPatch(1, 1, [90, 60, 150]));
    expectAllFinite(purple);
    expect(purple.tissueFraction).toBe(1);
    expect(purple.hematoxylin.mean).toBeGreaterThan(0.4);
    expect(purple.nuclei.count).toBe(0);
    expect(purple.edgeDensity).toBe(0);
    const white = measurePatch(uniformPatch(1, 1), { mpp: 0.5 });
    expectAllFinite(white);
    expect(white.whiteFraction).toBe(1);
  });

  it('counts dark artefacts (scanner border, ink) as neither tissue nor white', () => {
    const m = measurePatch(uniformPatch(32, 32, [5, 5, 5]));
    expect(m.tissueFraction).toBe(0);
    expect(m.whiteFraction).toBe(0);
    expect(m.nuclei.count).toBe(0);
  });

  it('rejects impossible input as InvalidInput', () => {
    const attempts = [
      () => measurePatch({ data: new Uint8Array(0), width: 0, height: 0 }),
      () => measurePatch({ data: new Uint8Array(10), width: 2, height: 2 }),
      () => measurePatch({ data: new Uint8Array(12), width: 2.5, height: 2 }),
      () => measurePatch(uniformPatch(2, 2), { mpp: 0 }),
      () => measurePatch(uniformPatch(2, 2), { mpp: Number.NaN }),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow();
      try {
        attempt();
      } catch (error) {
        expect(isPathgenError(error) && error.code).toBe('InvalidInput');
      }
    }
  });

  it('is deterministic: the same seed draws the same pixels and measures the same', () => {
    const a = syntheticPatch({ seed: 61, nucleiPerMm2: 3000, fatVacuoles: 3, lumina: 4 });
    const b = syntheticPatch({ seed: 61, nucleiPerMm2: 3000, fatVacuoles: 3, lumina: 4 });
    expect(Buffer.compare(a.image.data, b.image.data)).toBe(0);
    expect(measured(a)).toEqual(measured(b));
    expect(measurePatch(a.image)).toEqual(measurePatch(a.image));
  });
});
