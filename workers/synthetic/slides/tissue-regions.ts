// The region map of a painted rectangle: one byte per pixel saying what the pixel lies in, and the
// shapes (fat vacuoles, glands, nuclei) tissue-painter.ts rasterises into it before colouring.

/** What a pixel lies in. */
export const stroma = 0;
export const fat = 1;
export const lumen = 2;
export const glass = 3;
export const epithelium = 4;
export const band = 5;

export interface Disc {
  x: number;
  y: number;
  r: number;
}

export interface Gland extends Disc {
  /** Semi-axes of the lumen and the cos/sin of its angle. */
  a: number;
  b: number;
  cos: number;
  sin: number;
}

export interface Nucleus extends Disc {
  aspect: number;
  cos: number;
  sin: number;
}

/** Sets pixels inside a rotated ellipse (semi-axes a, b) from `from` to `kind`. */
export function paintEllipse(
  region: Uint8Array,
  x0: number,
  y0: number,
  width: number,
  height: number,
  centre: { x: number; y: number; cos?: number; sin?: number },
  a: number,
  b: number,
  kind: number,
  from: number,
): void {
  const cos = centre.cos ?? 1;
  const sin = centre.sin ?? 0;
  const reach = Math.max(a, b);
  const top = Math.max(0, Math.floor(centre.y - reach - y0));
  const bottom = Math.min(height - 1, Math.ceil(centre.y + reach - y0));
  const left = Math.max(0, Math.floor(centre.x - reach - x0));
  const right = Math.min(width - 1, Math.ceil(centre.x + reach - x0));
  for (let row = top; row <= bottom; row++) {
    const dy = y0 + row + 0.5 - centre.y;
    for (let col = left; col <= right; col++) {
      const dx = x0 + col + 0.5 - centre.x;
      const u = (dx * cos + dy * sin) / a;
      const v = (-dx * sin + dy * cos) / b;
      const i = row * width + col;
      if (u * u + v * v <= 1 && region[i] === from) region[i] = kind;
    }
  }
}

/** A nucleus with a one-pixel soft rim (weights 0–1), as a scanned edge looks; only on cells, not spaces. */
export function paintNucleus(
  weight: Float32Array,
  region: Uint8Array,
  x0: number,
  y0: number,
  width: number,
  height: number,
  n: Nucleus,
): void {
  const reach = n.r + 1;
  const top = Math.max(0, Math.floor(n.y - reach - y0));
  const bottom = Math.min(height - 1, Math.ceil(n.y + reach - y0));
  const left = Math.max(0, Math.floor(n.x - reach - x0));
  const right = Math.min(width - 1, Math.ceil(n.x + reach - x0));
  const rim = n.r * Math.sqrt(n.aspect);
  for (let row = top; row <= bottom; row++) {
    const dy = y0 + row + 0.5 - n.y;
    for (let col = left; col <= right; col++) {
      const i = row * width + col;
      const kind = region[i];
      if (kind !== stroma && kind !== epithelium && kind !== band) continue;
      const dx = x0 + col + 0.5 - n.x;
      const u = (dx * n.cos + dy * n.sin) / n.r;
      const v = (-dx * n.sin + dy * n.cos) / (n.r * n.aspect);
      const w = Math.min(1, Math.max(0, 0.5 - (Math.sqrt(u * u + v * v) - 1) * rim));
      if (w > weight[i]!) weight[i] = w;
    }
  }
}
