import { describe, expect, it } from 'vitest';
import { multiplyTransposed, transpose } from '../../activities/eval/dense-kernels.js';
import { seededNormal } from '../../workers/synthetic/datasets/synthetic-bags.js';

describe('dense kernels', () => {
  const normal = seededNormal(1);

  it('multiplies A·Bᵀ (+ bias) for every remainder of the 4 × 3 blocking', () => {
    for (let rows = 1; rows <= 9; rows++) {
      for (let cols = 1; cols <= 7; cols++) {
        for (const inner of [1, 2, 5]) {
          const a = Float64Array.from({ length: rows * inner }, normal);
          const b = Float64Array.from({ length: cols * inner }, normal);
          const bias = Float64Array.from({ length: cols }, normal);
          const out = new Float64Array(rows * cols);
          multiplyTransposed(a, rows, inner, b, cols, out, bias);
          const plain = new Float64Array(rows * cols);
          multiplyTransposed(a, rows, inner, b, cols, plain);
          for (let r = 0; r < rows; r++) {
            for (let c = 0; c < cols; c++) {
              let sum = 0;
              for (let i = 0; i < inner; i++) sum += a[r * inner + i]! * b[c * inner + i]!;
              expect(plain[r * cols + c]).toBeCloseTo(sum, 12);
              expect(out[r * cols + c]).toBeCloseTo(sum + bias[c]!, 12);
            }
          }
        }
      }
    }
  });

  it('transposes across tile edges', () => {
    const rows = 37;
    const cols = 70;
    const src = Float32Array.from({ length: rows * cols }, (_, i) => i);
    const dst = new Float32Array(rows * cols);
    transpose(src, rows, cols, dst);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) expect(dst[c * rows + r]).toBe(r * cols + c);
    }
  });
});
