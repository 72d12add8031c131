// Connected-component labelling by flood fill with an explicit stack, on typed arrays only, so a
// 672×672 mask costs no allocation per pixel.

/**
 * Labels the non-zero pixels of `mask` as components 1..count in `labels` (which must be zeroed, of
 * length width × height) and returns count. `stack` needs width × height entries; every pixel is
 * pushed at most once because it is labelled when pushed.
 */
export function labelComponents(
  mask: Uint8Array,
  width: number,
  height: number,
  connectivity: 4 | 8,
  labels: Int32Array,
  stack: Int32Array,
): number {
  let count = 0;
  const n = width * height;
  for (let start = 0; start < n; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    count++;
    labels[start] = count;
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % width;
      const y = (p - x) / width;
      const left = x > 0;
      const right = x < width - 1;
      const up = y > 0;
      const down = y < height - 1;
      // Each neighbour inside the image, set in the mask and not yet labelled is labelled and pushed.
      let q = p - 1;
      if (left && mask[q] !== 0 && labels[q] === 0) {
        labels[q] = count;
        stack[top++] = q;
      }
      q = p + 1;
      if (right && mask[q] !== 0 && labels[q] === 0) {
        labels[q] = count;
        stack[top++] = q;
      }
      q = p - width;
      if (up && mask[q] !== 0 && labels[q] === 0) {
        labels[q] = count;
        stack[top++] = q;
      }
      q = p + width;
      if (down && mask[q] !== 0 && labels[q] === 0) {
        labels[q] = count;
        stack[top++] = q;
      }
      if (connectivity === 4) continue;
      q = p - width - 1;
      if (up && left && mask[q] !== 0 && labels[q] === 0) {
        labels[q] = count;
        stack[top++] = q;
      }
      q = p - width + 1;
      if (up && right && mask[q] !== 0 && labels[q] === 0) {
        labels[q] = count;
        stack[top++] = q;
      }
      q = p + width - 1;
      if (down && left && mask[q] !== 0 && labels[q] === 0) {
        labels[q] = count;
        stack[top++] = q;
      }
      q = p + width + 1;
      if (down && right && mask[q] !== 0 && labels[q] === 0) {
        labels[q] = count;
        stack[top++] = q;
      }
    }
  }
  return count;
}

export interface ComponentShapes {
  /** Indexed by label (entry 0 unused). */
  area: Float64Array;
  /** Pixels on the outermost rows and columns of the image. */
  borderPx: Float64Array;
  /** Axis ratio of the moment ellipse (≥ 1). */
  elongation: Float64Array;
  /** Area / area of the moment ellipse: 1 for a filled ellipse, lower for branched, ragged or merged shapes. */
  ellipseFill: Float64Array;
}

/** Area, edge contact and moment-ellipse shape of components 1..count of a label image. */
export function componentShapes(labels: Int32Array, count: number, width: number, height: number): ComponentShapes {
  const area = new Float64Array(count + 1);
  const borderPx = new Float64Array(count + 1);
  const sumX = new Float64Array(count + 1);
  const sumY = new Float64Array(count + 1);
  const sumXX = new Float64Array(count + 1);
  const sumYY = new Float64Array(count + 1);
  const sumXY = new Float64Array(count + 1);
  for (let y = 0, i = 0; y < height; y++) {
    const edgeRow = y === 0 || y === height - 1;
    for (let x = 0; x < width; x++, i++) {
      const label = labels[i]!;
      if (label === 0) continue;
      area[label]!++;
      if (edgeRow || x === 0 || x === width - 1) borderPx[label]!++;
      sumX[label]! += x;
      sumY[label]! += y;
      sumXX[label]! += x * x;
      sumYY[label]! += y * y;
      sumXY[label]! += x * y;
    }
  }
  const elongation = new Float64Array(count + 1);
  const ellipseFill = new Float64Array(count + 1);
  for (let label = 1; label <= count; label++) {
    const a = area[label]!;
    const mx = sumX[label]! / a;
    const my = sumY[label]! / a;
    // A pixel is a unit square: its own variance (1/12) keeps one-pixel-wide shapes from a zero axis.
    const vxx = sumXX[label]! / a - mx * mx + 1 / 12;
    const vyy = sumYY[label]! / a - my * my + 1 / 12;
    const vxy = sumXY[label]! / a - mx * my;
    const half = (vxx + vyy) / 2;
    const spread = Math.sqrt(((vxx - vyy) / 2) ** 2 + vxy * vxy);
    const major = half + spread;
    const minor = Math.max(half - spread, 1 / 12);
    elongation[label] = Math.sqrt(major / minor);
    // A filled ellipse with semi-axes p, q has axis variances p²/4 and q²/4, hence area 4π·√(major·minor).
    ellipseFill[label] = a / (4 * Math.PI * Math.sqrt(major * minor));
  }
  return { area, borderPx, elongation, ellipseFill };
}
