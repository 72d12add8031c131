import { describe, expect, it } from 'vitest';
import { adamWStep, cosineAnnealingLr, createAdamW } from '../../activities/eval/adamw.js';

// torch.optim.AdamW (amsgrad=False, maximize=False), per element, step t:
//   p ← p·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
// with β1 = 0.9, β2 = 0.999, eps = 1e-8. Below: lr = 0.01, wd = 0.1, p0 = [0.5, −1, 2],
// g1 = [0.1, −0.2, 0], g2 = [0.3, 0.1, −0.05].

describe('AdamW', () => {
  it('takes the steps torch.optim.AdamW takes', () => {
    const parameters = new Float64Array([0.5, -1, 2]);
    const state = createAdamW(3, { weightDecay: 0.1 });

    adamWStep(state, parameters, new Float64Array([0.1, -0.2, 0]), 0.01);
    // Step 1: m̂ = g and √v̂ = |g|, so the update is lr·g/(|g| + eps); a zero gradient only decays.
    const step1 = [0.5 * 0.999 - 0.01 * (0.1 / (0.1 + 1e-8)), -1 * 0.999 + 0.01 * (0.2 / (0.2 + 1e-8)), 2 * 0.999];
    expect(step1[0]).toBeCloseTo(0.489500001, 12);
    expect(Array.from(parameters)).toEqual(step1.map((value) => expect.closeTo(value, 15)));

    adamWStep(state, parameters, new Float64Array([0.3, 0.1, -0.05]), 0.01);
    // Step 2: m = 0.9·m1 + 0.1·g2, v = 0.999·v1 + 0.001·g2², bias corrections 1 − 0.9² = 0.19 and
    // 1 − 0.999² = 0.001999.
    const m = [0.9 * 0.01 + 0.1 * 0.3, 0.9 * -0.02 + 0.1 * 0.1, 0.1 * -0.05];
    const v = [0.999 * 1e-5 + 0.001 * 0.09, 0.999 * 4e-5 + 0.001 * 0.01, 0.001 * 0.0025];
    expect(m[0]).toBeCloseTo(0.039, 15);
    expect(v[0]).toBeCloseTo(9.999e-5, 15);
    const step2 = step1.map(
      (p, i) => p * 0.999 - ((0.01 / 0.19) * m[i]!) / (Math.sqrt(v[i]!) / Math.sqrt(0.001999) + 1e-8),
    );
    expect(Array.from(parameters)).toEqual(step2.map((value) => expect.closeTo(value, 14)));
    expect(state.step).toBe(2);
  });

  it('updates float32 parameters in place with the same arithmetic', () => {
    const parameters = new Float32Array([0.5, -1, 2]);
    adamWStep(createAdamW(3, { weightDecay: 0.1 }), parameters, new Float32Array([0.1, -0.2, 0]), 0.01);
    expect(Array.from(parameters)).toEqual([
      Math.fround(0.5 * 0.999 - 0.01 * (0.1 / (0.1 + 1e-8))),
      Math.fround(-1 * 0.999 + 0.01 * (0.2 / (0.2 + 1e-8))),
      Math.fround(2 * 0.999),
    ]);
  });

  it('rejects mismatched lengths and invalid settings', () => {
    const state = createAdamW(3);
    expect(() => adamWStep(state, new Float32Array(2), new Float32Array(3), 0.1)).toThrow(/lengths/);
    expect(() => createAdamW(3, { beta1: 1 })).toThrow(/betas/);
    expect(() => createAdamW(3, { weightDecay: -1 })).toThrow(/weight decay/);
  });
});

describe('cosine schedule', () => {
  it('follows torch CosineAnnealingLR (its recursive form, eta_min = 0) step by step', () => {
    const base = 1e-4;
    const total = 7;
    // torch: lr_t = (1 + cos(πt/T)) / (1 + cos(π(t−1)/T)) · lr_{t−1}, from lr_0 = base.
    let lr = base;
    expect(cosineAnnealingLr(base, 0, total)).toBe(base);
    for (let t = 1; t <= total; t++) {
      lr = ((1 + Math.cos((Math.PI * t) / total)) / (1 + Math.cos((Math.PI * (t - 1)) / total))) * lr;
      expect(cosineAnnealingLr(base, t, total)).toBeCloseTo(lr, 18);
    }
    expect(cosineAnnealingLr(base, total, total)).toBeCloseTo(0, 20);
    expect(cosineAnnealingLr(1, 5, 10)).toBeCloseTo(0.5, 15);
    expect(() => cosineAnnealingLr(base, 0, 0)).toThrow(/at least one step/);
  });
});
