import type { FloatArray } from './adamw.js';

// The two dense kernels ABMIL's forward and backward passes are made of. Every product is written as
// out = A·Bᵀ with both operands row-major, so the inner loop walks two rows contiguously; four rows of
// A and three of B are combined at a time so each value read from memory feeds several products. Sums
// are JavaScript numbers, i.e. float64, whatever the storage type.

/** out[r, c] = bias[c] + Σ_i a[r, i] · b[c, i], for a (rows × inner) and b (cols × inner). */
export function multiplyTransposed(
  a: FloatArray,
  rows: number,
  inner: number,
  b: FloatArray,
  cols: number,
  out: FloatArray,
  bias?: FloatArray,
): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const a0 = r * inner;
    const a1 = a0 + inner;
    const a2 = a1 + inner;
    const a3 = a2 + inner;
    const o0 = r * cols;
    const o1 = o0 + cols;
    const o2 = o1 + cols;
    const o3 = o2 + cols;
    let c = 0;
    for (; c + 3 <= cols; c += 3) {
      const b0 = c * inner;
      const b1 = b0 + inner;
      const b2 = b1 + inner;
      let s00 = 0;
      let s10 = 0;
      let s20 = 0;
      let s30 = 0;
      let s01 = 0;
      let s11 = 0;
      let s21 = 0;
      let s31 = 0;
      let s02 = 0;
      let s12 = 0;
      let s22 = 0;
      let s32 = 0;
      for (let i = 0; i < inner; i++) {
        const u = b[b0 + i]!;
        const v = b[b1 + i]!;
        const w = b[b2 + i]!;
        const x0 = a[a0 + i]!;
        const x1 = a[a1 + i]!;
        const x2 = a[a2 + i]!;
        const x3 = a[a3 + i]!;
        s00 += x0 * u;
        s10 += x1 * u;
        s20 += x2 * u;
        s30 += x3 * u;
        s01 += x0 * v;
        s11 += x1 * v;
        s21 += x2 * v;
        s31 += x3 * v;
        s02 += x0 * w;
        s12 += x1 * w;
        s22 += x2 * w;
        s32 += x3 * w;
      }
      const u = bias ? bias[c]! : 0;
      const v = bias ? bias[c + 1]! : 0;
      const w = bias ? bias[c + 2]! : 0;
      out[o0 + c] = s00 + u;
      out[o1 + c] = s10 + u;
      out[o2 + c] = s20 + u;
      out[o3 + c] = s30 + u;
      out[o0 + c + 1] = s01 + v;
      out[o1 + c + 1] = s11 + v;
      out[o2 + c + 1] = s21 + v;
      out[o3 + c + 1] = s31 + v;
      out[o0 + c + 2] = s02 + w;
      out[o1 + c + 2] = s12 + w;
      out[o2 + c + 2] = s22 + w;
      out[o3 + c + 2] = s32 + w;
    }
    for (; c < cols; c++) {
      const u = bias ? bias[c]! : 0;
      out[o0 + c] = dot(a, a0, b, c * inner, inner) + u;
      out[o1 + c] = dot(a, a1, b, c * inner, inner) + u;
      out[o2 + c] = dot(a, a2, b, c * inner, inner) + u;
      out[o3 + c] = dot(a, a3, b, c * inner, inner) + u;
    }
  }
  for (; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = dot(a, r * inner, b, c * inner, inner) + (bias ? bias[c]! : 0);
  }
}

function dot(a: FloatArray, aStart: number, b: FloatArray, bStart: number, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += a[aStart + i]! * b[bStart + i]!;
  return sum;
}

/** dst (cols × rows) = srcᵀ for src (rows × cols), in tiles so both sides stay in cache. */
export function transpose(src: FloatArray, rows: number, cols: number, dst: FloatArray): void {
  const tile = 32;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(rows, r0 + tile);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(cols, c0 + tile);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c]!;
      }
    }
  }
}
