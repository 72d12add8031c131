import { cellHash as hash } from './cell-hash.js';
import { LobuleSepta } from './lobule-septa.js';
import { colourRegions } from './tissue-colour.js';
import { everywhere, type TissueOutline } from './tissue-outline.js';
import {
  band,
  epithelium,
  fat,
  glass,
  lumen,
  paintEllipse,
  paintNucleus,
  stroma,
  type Disc,
  type Gland,
  type Nucleus,
} from './tissue-regions.js';
import type { TissueStyle } from './tissue-style.js';

// Paints H&E-like tissue of one style into any level-0 rectangle, so a slide is drawn tile by tile
// and never held whole. Every feature (fat vacuole, gland, nucleus) sits on a jittered grid and
// derives from a hash of its cell, so adjacent tiles agree at their seams without sharing state.
// The features are drawn into a region map (tissue-regions.ts) that tissue-colour.ts then colours.

const hexRow = Math.sqrt(3) / 2;

export class TissuePainter {
  private readonly px: (um: number) => number;
  private readonly salt: number;
  /** Features by grid cell: each is asked for by every tile and nucleus near it. */
  private readonly vacuoles = new Map<number, Disc | undefined>();
  private readonly glands = new Map<number, Gland | undefined>();
  private readonly septa: LobuleSepta | undefined;

  constructor(
    readonly style: TissueStyle,
    readonly seed: number,
    readonly mpp: number,
    readonly outline: TissueOutline = everywhere,
  ) {
    this.px = (um) => um / mpp;
    this.salt = Math.imul(seed + 1, 0x2545f491);
    if (style.septa)
      this.septa = new LobuleSepta(
        { lobule: this.px(style.septa.lobuleUm), width: this.px(style.septa.widthUm), salt: this.salt + 41 },
        outline,
      );
  }

  /** Packed RGB of the level-0 rectangle. */
  paint(x0: number, y0: number, width: number, height: number): Buffer {
    const n = width * height;
    const region = new Uint8Array(n);
    this.paintOutline(region, x0, y0, width, height);
    this.septa?.paint(region, x0, y0, width, height, band, stroma);
    const fatSpacing = this.style.fat ? this.px(this.style.fat.spacingUm) : 0;
    const fatCells = this.style.fat ? this.cells(fatSpacing, fatSpacing * hexRow, x0, y0, width, height) : [];
    for (const [i, j] of fatCells) {
      const vacuole = this.vacuole(i, j);
      if (vacuole) paintEllipse(region, x0, y0, width, height, vacuole, vacuole.r, vacuole.r, fat, stroma);
    }
    const glandSpacing = this.style.glands ? this.px(this.style.glands.spacingUm) : 0;
    const glandCells = this.style.glands ? this.cells(glandSpacing, glandSpacing, x0, y0, width, height) : [];
    const ring = this.style.glands ? this.px(this.style.glands.epitheliumUm) : 0;
    for (const [i, j] of glandCells) {
      const gland = this.gland(i, j);
      if (gland) paintEllipse(region, x0, y0, width, height, gland, gland.a + ring, gland.b + ring, epithelium, stroma);
    }
    for (const [i, j] of glandCells) {
      const gland = this.gland(i, j);
      if (gland) paintEllipse(region, x0, y0, width, height, gland, gland.a, gland.b, lumen, epithelium);
    }
    const nucleusWeight = new Float32Array(n);
    for (const nucleus of this.nuclei(x0, y0, width, height))
      paintNucleus(nucleusWeight, region, x0, y0, width, height, nucleus);
    return colourRegions(this.style, this.salt, this.px, region, nucleusWeight, x0, y0, width, height);
  }

  private paintOutline(region: Uint8Array, x0: number, y0: number, width: number, height: number): void {
    const cover = this.outline.cover(x0, y0, width, height);
    if (cover === 'all') return;
    if (cover === 'none') {
      region.fill(glass);
      return;
    }
    for (let row = 0, i = 0; row < height; row++)
      for (let col = 0; col < width; col++, i++)
        if (this.outline.margin(x0 + col + 0.5, y0 + row + 0.5) <= 0) region[i] = glass;
  }

  /** Grid cells of a jittered grid whose features may reach into the rectangle. */
  private cells(
    spacing: number,
    rowSpacing: number,
    x0: number,
    y0: number,
    width: number,
    height: number,
  ): [number, number][] {
    const out: [number, number][] = [];
    for (let j = Math.floor(y0 / rowSpacing) - 1; j <= Math.floor((y0 + height) / rowSpacing) + 1; j++)
      for (let i = Math.floor(x0 / spacing) - 1; i <= Math.floor((x0 + width) / spacing) + 1; i++) out.push([i, j]);
    return out;
  }

  /** The fat vacuole of a grid cell, or none where it would not lie wholly inside the tissue. */
  private vacuole(i: number, j: number): Disc | undefined {
    const key = cellKey(i, j);
    if (!this.vacuoles.has(key)) this.vacuoles.set(key, this.newVacuole(i, j));
    return this.vacuoles.get(key);
  }

  private newVacuole(i: number, j: number): Disc | undefined {
    const f = this.style.fat!;
    const spacing = this.px(f.spacingUm);
    const [rMin, rMax] = [this.px(f.radiusUm[0]), this.px(f.radiusUm[1])];
    const septum = this.px(f.septumUm);
    const jitter = Math.max(0, (spacing - 2 * rMax - septum) / 2);
    const r = rMin + hash(i, j, this.salt + 11) * (rMax - rMin);
    // Hexagonal packing, as adipocytes pack: every neighbour is one spacing away.
    const x = (i + 0.5 + (j & 1) * 0.5) * spacing + (2 * hash(i, j, this.salt + 12) - 1) * jitter;
    const y = (j + 0.5) * spacing * hexRow + (2 * hash(i, j, this.salt + 13) - 1) * jitter;
    if (hash(i, j, this.salt + 14) < 0.06) return undefined;
    // Next to a band or the section's edge a vacuole shrinks to fit, as fat cells do, or gives way.
    const room = (this.septa ? this.septa.clearance(x, y) : this.outline.margin(x, y)) - septum;
    if (room >= r) return { x, y, r };
    return room >= 0.55 * rMin ? { x, y, r: room } : undefined;
  }

  /**
   * The gland of a grid cell: half slits, half round acini. A gland whose lumen could touch a
   * neighbour's gives way to the neighbour with the higher priority, so lumina never merge.
   */
  private gland(i: number, j: number): Gland | undefined {
    const key = cellKey(i, j);
    if (!this.glands.has(key)) this.glands.set(key, this.newGland(i, j));
    return this.glands.get(key);
  }

  private newGland(i: number, j: number): Gland | undefined {
    const candidate = this.glandCandidate(i, j);
    if (!candidate) return undefined;
    const gap = this.px(this.style.glands!.epitheliumUm);
    const priority = hash(i, j, this.salt + 25);
    for (let dj = -1; dj <= 1; dj++)
      for (let di = -1; di <= 1; di++) {
        if (di === 0 && dj === 0) continue;
        const other = this.glandCandidate(i + di, j + dj);
        if (!other || hash(i + di, j + dj, this.salt + 25) < priority) continue;
        if (Math.hypot(other.x - candidate.x, other.y - candidate.y) < other.r + candidate.r + gap) return undefined;
      }
    return candidate;
  }

  private glandCandidate(i: number, j: number): Gland | undefined {
    const g = this.style.glands!;
    const spacing = this.px(g.spacingUm);
    const ring = this.px(g.epitheliumUm);
    const slit = hash(i, j, this.salt + 21) < 0.5;
    const a = slit ? this.px(g.slitUm[0]) : this.px(lerp(g.acinusRadiusUm, hash(i, j, this.salt + 22)));
    const b = slit ? this.px(g.slitUm[1]) : a;
    const angle = hash(i, j, this.salt + 23) * Math.PI;
    const x = (i + 0.2 + 0.6 * hash(i, j, this.salt + 24)) * spacing;
    const y = (j + 0.2 + 0.6 * hash(i, j, this.salt + 26)) * spacing;
    if (this.outline.margin(x, y) < a + ring / 2) return undefined;
    return { x, y, r: a, a, b, cos: Math.cos(angle), sin: Math.sin(angle) };
  }

  /** What a point lies in, counting a point closer than `clearance` to a space as inside it. */
  private regionAt(x: number, y: number, clearance: number): number {
    if (this.outline.margin(x, y) < clearance) return glass;
    if (this.style.fat) {
      const spacing = this.px(this.style.fat.spacingUm);
      const ci = Math.floor(x / spacing);
      const cj = Math.floor(y / (spacing * hexRow));
      for (let j = cj - 1; j <= cj + 1; j++)
        for (let i = ci - 1; i <= ci + 1; i++) {
          const v = this.vacuole(i, j);
          if (v && Math.hypot(x - v.x, y - v.y) < v.r + clearance) return fat;
        }
    }
    if (this.style.glands) {
      const spacing = this.px(this.style.glands.spacingUm);
      const ring = this.px(this.style.glands.epitheliumUm);
      const ci = Math.floor(x / spacing);
      const cj = Math.floor(y / spacing);
      let inRing = false;
      for (let j = cj - 1; j <= cj + 1; j++)
        for (let i = ci - 1; i <= ci + 1; i++) {
          const g = this.gland(i, j);
          if (!g) continue;
          const u = (x - g.x) * g.cos + (y - g.y) * g.sin;
          const v = -(x - g.x) * g.sin + (y - g.y) * g.cos;
          const inflate = (s: number) => (u / (g.a + s)) ** 2 + (v / (g.b + s)) ** 2 <= 1;
          if (inflate(clearance)) return lumen;
          if (inflate(ring)) inRing = true;
        }
      if (inRing) return epithelium;
    }
    return stroma;
  }

  private *nuclei(x0: number, y0: number, width: number, height: number): Generator<Nucleus> {
    const s = this.style.nuclei;
    const spacing = this.px(s.spacingUm);
    const meanR = this.px(s.radiusUm);
    const maxR = meanR * (1 + s.radiusSpread);
    const gap = 2;
    const reach = maxR + spacing;
    for (let j = Math.floor((y0 - reach) / spacing); j <= Math.floor((y0 + height + reach) / spacing); j++) {
      // Alternate rows shift by half a cell, so the lattice reads as packed cells, not a grid.
      const shift = (j & 1) * 0.5;
      for (let i = Math.floor((x0 - reach) / spacing - shift); i <= Math.floor((x0 + width + reach) / spacing); i++) {
        const r = meanR * (1 + s.radiusSpread * (2 * hash(i, j, this.salt + 31) - 1));
        const jitter = Math.max(0, spacing / 2 - r - gap / 2);
        const x = (i + 0.5 + shift) * spacing + (2 * hash(i, j, this.salt + 32) - 1) * jitter;
        const y = (j + 0.5) * spacing + (2 * hash(i, j, this.salt + 33) - 1) * jitter;
        if (x + r < x0 - 1 || x - r > x0 + width + 1 || y + r < y0 - 1 || y - r > y0 + height + 1) continue;
        const where = this.regionAt(x, y, r + gap);
        const presence =
          where === stroma ? s.presence : where === epithelium ? this.style.glands!.epithelium.nucleusPresence : 0;
        if (hash(i, j, this.salt + 34) >= presence) continue;
        const angle = hash(i, j, this.salt + 35) * Math.PI;
        yield {
          x,
          y,
          r,
          aspect: lerp(s.aspect, hash(i, j, this.salt + 36)),
          cos: Math.cos(angle),
          sin: Math.sin(angle),
        };
      }
    }
  }
}

function cellKey(i: number, j: number): number {
  return i * 1_048_576 + j;
}

function lerp([from, to]: [number, number], t: number): number {
  return from + (to - from) * t;
}
