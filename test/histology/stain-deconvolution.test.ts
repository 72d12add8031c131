import { describe, expect, it } from 'vitest';
import {
  mixStains,
  opticalDensity,
  opticalDensityTable,
  separateStains,
  stainVectors,
} from '../../activities/histology/stain-deconvolution.js';

describe('Ruifrok–Johnston colour deconvolution', () => {
  it('uses OD = -log10((I + 1) / 256): white is 0, black is log10(256)', () => {
    expect(opticalDensity(255)).toBe(-0);
    expect(opticalDensity(0)).toBeCloseTo(Math.log10(256), 12);
    expect(opticalDensityTable[128]).toBeCloseTo(-Math.log10(129 / 256), 6);
  });

  it('has unit stain vectors, hematoxylin absorbing red most and eosin green', () => {
    for (const vector of Object.values(stainVectors)) expect(Math.hypot(...vector)).toBeCloseTo(1, 12);
    expect(stainVectors.hematoxylin[0]).toBeGreaterThan(stainVectors.eosin[0]);
    expect(stainVectors.eosin[1]).toBeGreaterThan(stainVectors.hematoxylin[1]);
  });

  it('recovers the densities that Beer–Lambert mixing put in, up to 8-bit rounding', () => {
    for (const [h, e] of [
      [0.8, 0.1],
      [0.05, 0.3],
      [0.4, 0.4],
      [0, 0.05],
    ] as const) {
      const [r, g, b] = mixStains(h, e);
      const densities = separateStains(r, g, b);
      expect(densities.hematoxylin).toBeCloseTo(h, 1);
      expect(densities.eosin).toBeCloseTo(e, 1);
      expect(Math.abs(densities.residual)).toBeLessThan(0.03);
    }
  });

  it('reads typical H&E colours the right way round', () => {
    const nucleus = separateStains(80, 50, 140);
    const stroma = separateStains(235, 160, 200);
    expect(nucleus.hematoxylin).toBeGreaterThan(0.5);
    expect(nucleus.hematoxylin).toBeGreaterThan(nucleus.eosin);
    expect(stroma.eosin).toBeGreaterThan(0.1);
    expect(stroma.eosin).toBeGreaterThan(stroma.hematoxylin + 0.1);
    expect(separateStains(255, 255, 255)).toEqual({ hematoxylin: 0, eosin: 0, residual: 0 });
  });
});
