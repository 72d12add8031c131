import { cellHash as hash } from './cell-hash.js';
import type { TissueOutline } from './tissue-outline.js';

// Fibrous septa that divide fat into lobules, and the capsule along a section's edge: bands of
// collagen along the edges of a Voronoi tessellation of jittered lobule centres. Besides looking
// like fat does, they give the tissue detector a connected frame whose enclosed lobules it fills;
// a lattice of pale septa alone averages out to near-glass at 32×.

export interface SeptaSpec {
  /** Spacing of lobule centres and width of the bands, in level-0 pixels. */
  lobule: number;
  width: number;
  salt: number;
}

export class LobuleSepta {
  private readonly half: number;

  constructor(
    private readonly spec: SeptaSpec,
    private readonly outline: TissueOutline,
  ) {
    this.half = spec.width / 2;
  }

  /**
   * How far a point lies inside a lobule, away from every band (negative inside a band): the
   * distance to the bisector of the two nearest lobule centres or to the capsule, minus the half
   * width of the band.
   */
  clearance(x: number, y: number): number {
    const capsule = this.outline.margin(x, y) - this.spec.width;
    return Math.min(capsule, bisectorDistance(this.seedsAround(x, y, 0), x, y) - this.half);
  }

  /** Marks band pixels of the rectangle as `band` where they are `over`. */
  paint(region: Uint8Array, x0: number, y0: number, width: number, height: number, band: number, over: number): void {
    const reach = Math.hypot(width, height) / 2;
    const seeds = this.seedsAround(x0 + width / 2, y0 + height / 2, reach);
    const cx = x0 + width / 2;
    const cy = y0 + height / 2;
    const nearCapsule =
      this.outline.cover(
        x0 - this.spec.width,
        y0 - this.spec.width,
        width + 2 * this.spec.width,
        height + 2 * this.spec.width,
      ) !== 'all';
    const nearBisector = seeds.length > 1 && bisectorDistance(seeds, cx, cy) - reach < this.half;
    if (!nearCapsule && !nearBisector) return;
    for (let row = 0, i = 0; row < height; row++) {
      const y = y0 + row + 0.5;
      for (let col = 0; col < width; col++, i++) {
        if (region[i] !== over) continue;
        const x = x0 + col + 0.5;
        if (
          (nearBisector && bisectorDistance(seeds, x, y) < this.half) ||
          (nearCapsule && this.outline.margin(x, y) < this.spec.width)
        )
          region[i] = band;
      }
    }
  }

  /**
   * Lobule centres that can be the nearest or second nearest to some point within `reach` of
   * (x, y): those not farther than the second nearest by more than twice the reach.
   */
  private seedsAround(x: number, y: number, reach: number): { x: number; y: number }[] {
    const spacing = this.spec.lobule;
    const ci = Math.floor(x / spacing);
    const cj = Math.floor(y / spacing);
    const all: { x: number; y: number; d: number }[] = [];
    for (let j = cj - 2; j <= cj + 2; j++)
      for (let i = ci - 2; i <= ci + 2; i++) {
        const sx = (i + 0.15 + 0.7 * hash(i, j, this.spec.salt)) * spacing;
        const sy = (j + 0.15 + 0.7 * hash(i, j, this.spec.salt + 1)) * spacing;
        all.push({ x: sx, y: sy, d: Math.hypot(sx - x, sy - y) });
      }
    all.sort((a, b) => a.d - b.d);
    const limit = all[1]!.d + 2 * reach;
    return all.filter((seed) => seed.d <= limit);
  }
}

/** Distance from a point to the bisector of its two nearest seeds (the Voronoi edge between them). */
function bisectorDistance(seeds: readonly { x: number; y: number }[], x: number, y: number): number {
  let d1 = Infinity;
  let d2 = Infinity;
  let s1 = seeds[0]!;
  let s2 = seeds[0]!;
  for (const seed of seeds) {
    const d = (seed.x - x) ** 2 + (seed.y - y) ** 2;
    if (d < d1) {
      d2 = d1;
      s2 = s1;
      d1 = d;
      s1 = seed;
    } else if (d < d2) {
      d2 = d;
      s2 = seed;
    }
  }
  if (d2 === Infinity) return Infinity;
  return (d2 - d1) / (2 * Math.hypot(s2.x - s1.x, s2.y - s1.y));
}
