// A procedural stand-in for an H&E slide: a few pink-purple tissue blobs with wavy outlines on a
// white glass background, optional dust specks and a black scanner border that are not tissue.
// Everything derives from the seed, and the blob geometry is the ground truth tests compare with.
import { seededRandom } from '../../../activities/common/seeded-random.js';

// The same generator the patch grid samples with: one implementation of mulberry32 in the project.
export const mulberry32 = seededRandom;

function hash3(x: number, y: number, seed: number): number {
  let h = Math.imul(x | 0, 0x27d4eb2d) ^ Math.imul(y | 0, 0x165667b1) ^ Math.imul(seed | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

interface TissueBlob {
  cx: number;
  cy: number;
  radius: number;
  aspect: number;
  cos: number;
  sin: number;
  harmonics: { k: number; amplitude: number; phase: number }[];
  minRadius: number;
  maxRadius: number;
}

export interface SyntheticTissueOptions {
  blobs?: number;
  /** Small dark dust specks on the glass, which tissue detection must ignore. */
  specks?: boolean;
  /** A black band along the left edge, as some scanners leave. */
  blackBorder?: number;
}

export class SyntheticTissue {
  readonly blobs: TissueBlob[] = [];
  private readonly specks: { x: number; y: number; r: number }[] = [];
  readonly blackBorder: number;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly seed: number,
    options: SyntheticTissueOptions = {},
  ) {
    const random = mulberry32(seed);
    const count = options.blobs ?? 3;
    const scale = Math.min(width, height);
    for (let i = 0; i < count; i++) {
      const radius = scale * (0.14 + random() * 0.1);
      const angle = random() * Math.PI;
      const harmonics = [2, 3, 5].map((k) => ({ k, amplitude: 0.04 + random() * 0.08, phase: random() * Math.PI * 2 }));
      const wobble = harmonics.reduce((sum, h) => sum + h.amplitude, 0);
      const aspect = 0.65 + random() * 0.35;
      this.blobs.push({
        cx: width * (0.18 + random() * 0.64),
        cy: height * (0.2 + random() * 0.6),
        radius,
        aspect,
        cos: Math.cos(angle),
        sin: Math.sin(angle),
        harmonics,
        minRadius: radius * (1 - wobble),
        maxRadius: radius * (1 + wobble),
      });
    }
    if (options.specks ?? true) {
      for (let i = 0; i < 25; i++)
        this.specks.push({ x: random() * width, y: random() * height, r: 6 + random() * 10 });
    }
    this.blackBorder = options.blackBorder ?? 0;
  }

  /** Ground truth: is level-0 point (x, y) inside a tissue blob. */
  isTissue(x: number, y: number): boolean {
    for (const blob of this.blobs) {
      const dx = x - blob.cx;
      const dy = y - blob.cy;
      const u = dx * blob.cos + dy * blob.sin;
      const v = (-dx * blob.sin + dy * blob.cos) / blob.aspect;
      const d2 = u * u + v * v;
      if (d2 > blob.maxRadius * blob.maxRadius) continue;
      if (d2 < blob.minRadius * blob.minRadius) return true;
      const theta = Math.atan2(v, u);
      let r = blob.radius;
      for (const h of blob.harmonics) r += blob.radius * h.amplitude * Math.sin(h.k * theta + h.phase);
      if (d2 < r * r) return true;
    }
    return false;
  }

  /** Fraction of a level-0 rectangle covered by tissue, sampled every `step` pixels. */
  tissueFraction(x: number, y: number, width: number, height: number, step = 4): number {
    let inside = 0;
    let total = 0;
    for (let sy = y + step / 2; sy < y + height; sy += step) {
      for (let sx = x + step / 2; sx < x + width; sx += step) {
        total++;
        if (this.isTissue(sx, sy)) inside++;
      }
    }
    return total === 0 ? 0 : inside / total;
  }

  /** True when a level-0 rectangle holds only glass: no blob, speck or border reaches into it. */
  isBlankGlass(x: number, y: number, width: number, height: number): boolean {
    if (x < this.blackBorder) return false;
    const reaches = (cx: number, cy: number, r: number) =>
      cx + r > x && cx - r < x + width && cy + r > y && cy - r < y + height;
    return (
      !this.blobs.some((b) => reaches(b.cx, b.cy, b.maxRadius)) && !this.specks.some((s) => reaches(s.x, s.y, s.r))
    );
  }

  /** Packed RGB of a region of a level with the given downsample, sampled at pixel centres. */
  render(levelX: number, levelY: number, width: number, height: number, downsample: number): Buffer {
    const out = Buffer.allocUnsafe(width * height * 3);
    for (let row = 0; row < height; row++) {
      const y = (levelY + row + 0.5) * downsample;
      for (let col = 0; col < width; col++) {
        const x = (levelX + col + 0.5) * downsample;
        this.colourAt(x, y, out, (row * width + col) * 3);
      }
    }
    return out;
  }

  private colourAt(x: number, y: number, out: Buffer, at: number): void {
    const ix = Math.floor(x);
    const iy = Math.floor(y);
    const noise = hash3(ix, iy, this.seed) - 0.5;
    let r: number;
    let g: number;
    let b: number;
    if (x < this.blackBorder) {
      r = g = b = 12 + noise * 8;
    } else if (this.isTissue(x, y)) {
      // Eosin-pink stroma, slowly varying, with haematoxylin-purple nuclei on a 14 px lattice.
      const cellX = Math.floor(x / 14);
      const cellY = Math.floor(y / 14);
      const h = hash3(cellX, cellY, this.seed + 1);
      const nx = cellX * 14 + 4 + hash3(cellX, cellY, this.seed + 2) * 6;
      const ny = cellY * 14 + 4 + hash3(cellX, cellY, this.seed + 3) * 6;
      const radius = 2.5 + h * 2;
      const shade = Math.sin(x / 97 + this.seed) * Math.cos(y / 83) * 14;
      if (h < 0.6 && (x - nx) ** 2 + (y - ny) ** 2 < radius * radius) {
        r = 105 + shade + noise * 20;
        g = 60 + noise * 20;
        b = 150 + shade + noise * 20;
      } else {
        r = 228 + shade * 0.5 + noise * 12;
        g = 150 + shade + noise * 16;
        b = 192 + shade * 0.5 + noise * 12;
      }
    } else if (this.specks.some((s) => (x - s.x) ** 2 + (y - s.y) ** 2 < s.r * s.r)) {
      r = 70 + noise * 10;
      g = 62 + noise * 10;
      b = 80 + noise * 10;
    } else {
      r = 243 + noise * 4;
      g = 243 + noise * 4;
      b = 246 + noise * 4;
    }
    out[at] = clamp(r);
    out[at + 1] = clamp(g);
    out[at + 2] = clamp(b);
  }
}

function clamp(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}
