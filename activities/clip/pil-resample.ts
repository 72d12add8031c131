// PIL's Image.resize for 8-bit RGB (libImaging/Resample.c), which torchvision's Resize runs on PIL
// images and so what every open_clip model saw in training and evaluation. Reproduced operation by
// operation so our pixels equal PIL's byte for byte: the same filter support scaled by the
// downscale factor (antialiasing), the same coefficient normalisation in doubles, the same 22-bit
// fixed point, the same horizontal-then-vertical order with the intermediate image clipped to
// 8 bits. Integer sums are exact, so loop order is ours to choose for speed; the doubles are not,
// so coefficient arithmetic keeps PIL's expression order.

export type ResampleFilter = 'bicubic' | 'bilinear';

/** Per output pixel along one axis: the first input pixel, how many it reads, and their weights. */
export interface AxisCoefficients {
  /** Weights per output pixel, `taps` slots each (unused slots are 0). */
  weights: Int32Array;
  first: Int32Array;
  count: Int32Array;
  taps: number;
}

/** A pixel range along one axis: `[start, start + length)`. */
export interface Span {
  start: number;
  length: number;
}

const precisionBits = 32 - 8 - 2;
const half = 1 << (precisionBits - 1);

const filters: Record<ResampleFilter, { support: number; at: (x: number) => number }> = {
  bicubic: { support: 2, at: bicubic },
  bilinear: { support: 1, at: bilinear },
};

// Keys's cubic with a = -0.5, written as PIL writes it (the double rounding depends on it).
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

function bilinear(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

// A select run resizes thousands of same-sized patches: one table per (sizes, filter) is enough.
const coefficientCache = new Map<string, AxisCoefficients>();
const maxCachedTables = 64;

/** PIL's precompute_coeffs + normalize_coeffs_8bpc for the whole input range (no box). */
export function axisCoefficients(inSize: number, outSize: number, filter: ResampleFilter): AxisCoefficients {
  const key = `${inSize}:${outSize}:${filter}`;
  const cached = coefficientCache.get(key);
  if (cached) return cached;
  const { support: baseSupport, at } = filters[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = baseSupport * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const inverseFilterScale = 1 / filterScale;
  const weights = new Int32Array(outSize * taps);
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const raw = new Float64Array(taps);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates towards zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = at((x + xmin - center + 0.5) * inverseFilterScale);
      raw[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? raw[x]! / sum : raw[x]!;
      weights[xx * taps + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << precisionBits) : 0.5 + w * (1 << precisionBits));
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  const table = { weights, first, count, taps };
  if (coefficientCache.size >= maxCachedTables) coefficientCache.clear();
  coefficientCache.set(key, table);
  return table;
}

function clip8(sum: number): number {
  const value = sum >> precisionBits;
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

/**
 * Resizes packed RGB from `inWidth`×`inHeight` to `outWidth`×`outHeight` as PIL does, but computes
 * only the output window `columns`×`rows` (a crop of the resized image costs only what it keeps).
 * Returns the window as packed RGB.
 */
export function resampleRgbWindow(
  data: Uint8Array,
  inWidth: number,
  inHeight: number,
  outWidth: number,
  outHeight: number,
  columns: Span,
  rows: Span,
  filter: ResampleFilter,
): Uint8Array {
  // PIL skips a pass whose size does not change; that pass would be the identity anyway.
  const horizontal = outWidth !== inWidth ? axisCoefficients(inWidth, outWidth, filter) : undefined;
  const vertical = outHeight !== inHeight ? axisCoefficients(inHeight, outHeight, filter) : undefined;

  // Input rows the vertical pass reads for the window (all of them pass through horizontally first).
  let rowStart = rows.start;
  let rowEnd = rows.start + rows.length;
  if (vertical) {
    rowStart = vertical.first[rows.start]!;
    const last = rows.start + rows.length - 1;
    rowEnd = vertical.first[last]! + vertical.count[last]!;
  }

  const widened = horizontal
    ? horizontalPass(data, inWidth, rowStart, rowEnd - rowStart, horizontal, columns)
    : copyWindow(data, inWidth, columns, { start: rowStart, length: rowEnd - rowStart });
  if (!vertical) return widened;
  return verticalPass(widened, columns.length, rowStart, vertical, rows);
}

function copyWindow(data: Uint8Array, width: number, columns: Span, rows: Span): Uint8Array {
  const out = new Uint8Array(columns.length * rows.length * 3);
  const rowBytes = columns.length * 3;
  for (let y = 0; y < rows.length; y++) {
    const from = ((rows.start + y) * width + columns.start) * 3;
    out.set(data.subarray(from, from + rowBytes), y * rowBytes);
  }
  return out;
}

function horizontalPass(
  data: Uint8Array,
  inWidth: number,
  rowStart: number,
  rowCount: number,
  { weights, first, count, taps }: AxisCoefficients,
  columns: Span,
): Uint8Array {
  const outWidth = columns.length;
  const inRowBytes = inWidth * 3;
  const outRowBytes = outWidth * 3;
  const out = new Uint8Array(outRowBytes * rowCount);
  let y = 0;
  // Two rows at a time share each weight load.
  for (; y + 2 <= rowCount; y += 2) {
    const rowOffset = (rowStart + y) * inRowBytes;
    let o = y * outRowBytes;
    for (let xx = columns.start; xx < columns.start + outWidth; xx++, o += 3) {
      const k = xx * taps;
      const n = count[xx]!;
      let i = rowOffset + first[xx]! * 3;
      let r0 = half;
      let g0 = half;
      let b0 = half;
      let r1 = half;
      let g1 = half;
      let b1 = half;
      for (let x = 0; x < n; x++, i += 3) {
        const w = weights[k + x]!;
        const j = i + inRowBytes;
        r0 += data[i]! * w;
        g0 += data[i + 1]! * w;
        b0 += data[i + 2]! * w;
        r1 += data[j]! * w;
        g1 += data[j + 1]! * w;
        b1 += data[j + 2]! * w;
      }
      out[o] = clip8(r0);
      out[o + 1] = clip8(g0);
      out[o + 2] = clip8(b0);
      out[o + outRowBytes] = clip8(r1);
      out[o + outRowBytes + 1] = clip8(g1);
      out[o + outRowBytes + 2] = clip8(b1);
    }
  }
  for (; y < rowCount; y++) {
    const rowOffset = (rowStart + y) * inRowBytes;
    let o = y * outRowBytes;
    for (let xx = columns.start; xx < columns.start + outWidth; xx++, o += 3) {
      const k = xx * taps;
      const n = count[xx]!;
      let i = rowOffset + first[xx]! * 3;
      let r = half;
      let g = half;
      let b = half;
      for (let x = 0; x < n; x++, i += 3) {
        const w = weights[k + x]!;
        r += data[i]! * w;
        g += data[i + 1]! * w;
        b += data[i + 2]! * w;
      }
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

/** `data` holds input rows from `rowStart` on, `width` pixels each. */
function verticalPass(
  data: Uint8Array,
  width: number,
  rowStart: number,
  { weights, first, count, taps }: AxisCoefficients,
  rows: Span,
): Uint8Array {
  const rowBytes = width * 3;
  const out = new Uint8Array(rowBytes * rows.length);
  for (let yy = rows.start, o = 0; yy < rows.start + rows.length; yy++, o += rowBytes) {
    const k = yy * taps;
    const from = (first[yy]! - rowStart) * rowBytes;
    const n = count[yy]!;
    let i = 0;
    // Four bytes at a time share each weight load; the rest one by one.
    for (; i + 4 <= rowBytes; i += 4) {
      let s0 = half;
      let s1 = half;
      let s2 = half;
      let s3 = half;
      for (let y = 0, at = from + i; y < n; y++, at += rowBytes) {
        const w = weights[k + y]!;
        s0 += data[at]! * w;
        s1 += data[at + 1]! * w;
        s2 += data[at + 2]! * w;
        s3 += data[at + 3]! * w;
      }
      out[o + i] = clip8(s0);
      out[o + i + 1] = clip8(s1);
      out[o + i + 2] = clip8(s2);
      out[o + i + 3] = clip8(s3);
    }
    for (; i < rowBytes; i++) {
      let sum = half;
      for (let y = 0, at = from + i; y < n; y++, at += rowBytes) sum += data[at]! * weights[k + y]!;
      out[o + i] = clip8(sum);
    }
  }
  return out;
}
