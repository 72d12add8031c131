// Binary and greyscale image operations for tissue masks, all deterministic and linear in the
// number of pixels (running-window counts and histograms), so they stay cheap on large thumbnails.

/** Median of a (2r+1)² window of an 8-bit image, edges clamped; a sliding histogram per row. */
export function medianFilter(values: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  if (radius <= 0) return values.slice();
  const out = new Uint8Array(values.length);
  const histogram = new Uint32Array(256);
  const size = (2 * radius + 1) ** 2;
  const half = (size + 1) >> 1;
  const at = (x: number, y: number): number =>
    values[Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))]!;
  for (let y = 0; y < height; y++) {
    histogram.fill(0);
    for (let dy = -radius; dy <= radius; dy++) for (let dx = -radius; dx <= radius; dx++) histogram[at(dx, y + dy)]!++;
    for (let x = 0; x < width; x++) {
      if (x > 0) {
        for (let dy = -radius; dy <= radius; dy++) {
          histogram[at(x - radius - 1, y + dy)]!--;
          histogram[at(x + radius, y + dy)]!++;
        }
      }
      let seen = 0;
      let value = 0;
      while ((seen += histogram[value]!) < half) value++;
      out[y * width + x] = value;
    }
  }
  return out;
}

/** Otsu's threshold of a 256-bin histogram: the split that maximises between-class variance. */
export function otsuThreshold(histogram: ArrayLike<number>): number {
  let total = 0;
  let sum = 0;
  for (let i = 0; i < 256; i++) {
    total += histogram[i]!;
    sum += i * histogram[i]!;
  }
  let weightBelow = 0;
  let sumBelow = 0;
  let best = 0;
  let bestVariance = -1;
  for (let t = 0; t < 256; t++) {
    weightBelow += histogram[t]!;
    if (weightBelow === 0) continue;
    const weightAbove = total - weightBelow;
    if (weightAbove === 0) break;
    sumBelow += t * histogram[t]!;
    const meanBelow = sumBelow / weightBelow;
    const meanAbove = (sum - sumBelow) / weightAbove;
    const variance = weightBelow * weightAbove * (meanBelow - meanAbove) ** 2;
    if (variance > bestVariance) {
      bestVariance = variance;
      best = t;
    }
  }
  // Pixels strictly above `best` are the upper class.
  return best;
}

/**
 * Square structuring element of side 2r+1, separable. Erosion treats the outside as foreground
 * and dilation as background, so shapes touching the image edge are not eaten away.
 */
function morph(mask: Uint8Array, width: number, height: number, radius: number, erode: boolean): Uint8Array {
  const pass = (source: Uint8Array, horizontal: boolean): Uint8Array => {
    const out = new Uint8Array(source.length);
    const lines = horizontal ? height : width;
    const length = horizontal ? width : height;
    const index = (line: number, i: number) => (horizontal ? line * width + i : i * width + line);
    for (let line = 0; line < lines; line++) {
      let count = 0; // foreground pixels in the window
      const valueAt = (i: number) => (i < 0 || i >= length ? (erode ? 1 : 0) : source[index(line, i)]!);
      for (let i = -radius; i <= radius; i++) count += valueAt(i);
      for (let i = 0; i < length; i++) {
        if (i > 0) count += valueAt(i + radius) - valueAt(i - radius - 1);
        out[index(line, i)] = erode ? (count === 2 * radius + 1 ? 1 : 0) : count > 0 ? 1 : 0;
      }
    }
    return out;
  };
  return pass(pass(mask, true), false);
}

export function binaryOpen(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  if (radius <= 0) return mask.slice();
  return morph(morph(mask, width, height, radius, true), width, height, radius, false);
}

/** Closing as on an unbounded plane: computed on a copy padded with background, then cropped. */
export function binaryClose(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  if (radius <= 0) return mask.slice();
  const paddedWidth = width + 2 * radius;
  const paddedHeight = height + 2 * radius;
  const padded = new Uint8Array(paddedWidth * paddedHeight);
  for (let y = 0; y < height; y++)
    padded.set(mask.subarray(y * width, (y + 1) * width), (y + radius) * paddedWidth + radius);
  const closed = morph(
    morph(padded, paddedWidth, paddedHeight, radius, false),
    paddedWidth,
    paddedHeight,
    radius,
    true,
  );
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    out.set(
      closed.subarray((y + radius) * paddedWidth + radius, (y + radius) * paddedWidth + radius + width),
      y * width,
    );
  return out;
}

/**
 * Labels connected regions of pixels equal to `value` (8-connected for foreground, 4-connected for
 * background, the usual pairing) and calls `keep` with each region's area and whether it touches
 * the border; pixels of rejected regions are flipped.
 */
function filterRegions(
  mask: Uint8Array,
  width: number,
  height: number,
  value: 0 | 1,
  keep: (area: number, touchesBorder: boolean) => boolean,
): Uint8Array {
  const out = mask.slice();
  const seen = new Uint8Array(mask.length);
  const queue = new Int32Array(mask.length);
  const neighbours = value === 1 ? [-1, 0, 1, 0, 0, -1, 0, 1, -1, -1, 1, -1, -1, 1, 1, 1] : [-1, 0, 1, 0, 0, -1, 0, 1];
  for (let start = 0; start < mask.length; start++) {
    if (seen[start] || mask[start] !== value) continue;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    seen[start] = 1;
    let touchesBorder = false;
    while (head < tail) {
      const p = queue[head++]!;
      const x = p % width;
      const y = (p - x) / width;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) touchesBorder = true;
      for (let n = 0; n < neighbours.length; n += 2) {
        const nx = x + neighbours[n]!;
        const ny = y + neighbours[n + 1]!;
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const q = ny * width + nx;
        if (seen[q] || mask[q] !== value) continue;
        seen[q] = 1;
        queue[tail++] = q;
      }
    }
    if (!keep(tail, touchesBorder)) for (let i = 0; i < tail; i++) out[queue[i]!] = value === 1 ? 0 : 1;
  }
  return out;
}

/** Drops tissue regions smaller than `minArea` pixels. */
export function removeSmallRegions(mask: Uint8Array, width: number, height: number, minArea: number): Uint8Array {
  return filterRegions(mask, width, height, 1, (area) => area >= minArea);
}

/** Fills background enclosed by tissue (not reaching the border) up to `maxArea` pixels per hole. */
export function fillHoles(mask: Uint8Array, width: number, height: number, maxArea = Infinity): Uint8Array {
  return filterRegions(mask, width, height, 0, (area, touchesBorder) => touchesBorder || area > maxArea);
}
