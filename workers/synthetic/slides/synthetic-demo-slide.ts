import type { SvsJpegColour } from './svs-jpeg-tiles.js';
import { PathgenError } from '../../../activities/common/errors.js';
import { seededRandom } from '../../../activities/common/seeded-random.js';
import { writeAperioSvs, type AperioSvsLevel, type SvsPixelSource } from './aperio-svs-writer.js';
import { demoTissueKindInfo, type DemoTissueKind } from './tissue-kinds.js';
import { glassRgb } from './tissue-colour.js';
import type { TissueOutline } from './tissue-outline.js';
import { TissuePainter } from './tissue-painter.js';

// One synthetic slide of the demo: one or two tissue sections of a single kind on glass, written
// as an Aperio SVS at 40× (0.25 µm/px). Level 0 is painted tile by tile; the lower levels and the
// thumbnail are area averages of what was painted, kept at a quarter of the size, as a scanner
// builds its pyramid. No full-resolution image is ever allocated.

export interface DemoSlideSpec {
  kind: DemoTissueKind;
  seed: number;
  width?: number;
  height?: number;
  mpp?: number;
  /** Aperio's "JPEG/RGB" tiles, or YCbCr ones (default: YCbCr, which is quicker to write). */
  jpegColour?: SvsJpegColour;
}

export const demoSlideDefaults = { width: 8000, height: 6000, mpp: 0.25 } as const;

/** Level-0 pixels per cell of the outline's margin grid and of the painted-area bookkeeping. */
const cell = 16;
/** Level 0 → the kept reduced image (level 1 of the pyramid). */
const reduction = 4;

interface Blob {
  cx: number;
  cy: number;
  a: number;
  b: number;
  harmonics: { k: number; amplitude: number; phase: number }[];
}

/** Tissue sections as wobbly ellipses; the margin is sampled on a grid and interpolated. */
export class SectionOutline implements TissueOutline {
  private readonly columns: number;
  private readonly rows: number;
  private readonly grid: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
    seed: number,
  ) {
    const random = seededRandom(seed);
    const two = random() < 0.5;
    const blobs: Blob[] = (two ? [0.27, 0.73] : [0.5]).map((fx) => ({
      cx: width * (fx + (random() - 0.5) * 0.04),
      cy: height * (0.5 + (random() - 0.5) * 0.06),
      a: width * (two ? 0.2 : 0.4) * (0.92 + random() * 0.08),
      b: height * 0.4 * (0.92 + random() * 0.08),
      harmonics: [2, 3, 5].map((k) => ({ k, amplitude: 0.02 + random() * 0.03, phase: random() * Math.PI * 2 })),
    }));
    this.columns = Math.ceil(width / cell) + 2;
    this.rows = Math.ceil(height / cell) + 2;
    this.grid = new Float32Array(this.columns * this.rows);
    for (let j = 0; j < this.rows; j++)
      for (let i = 0; i < this.columns; i++) this.grid[j * this.columns + i] = exactMargin(blobs, i * cell, j * cell);
  }

  margin(x: number, y: number): number {
    const gx = Math.min(this.columns - 1.001, Math.max(0, x / cell));
    const gy = Math.min(this.rows - 1.001, Math.max(0, y / cell));
    const i = Math.floor(gx);
    const j = Math.floor(gy);
    const fx = gx - i;
    const fy = gy - j;
    const at = j * this.columns + i;
    const g = this.grid;
    return (
      (g[at]! * (1 - fx) + g[at + 1]! * fx) * (1 - fy) +
      (g[at + this.columns]! * (1 - fx) + g[at + this.columns + 1]! * fx) * fy
    );
  }

  cover(x: number, y: number, width: number, height: number): 'all' | 'none' | 'some' {
    const i0 = clampIndex(Math.floor(x / cell), this.columns);
    const i1 = clampIndex(Math.ceil((x + width) / cell), this.columns);
    const j0 = clampIndex(Math.floor(y / cell), this.rows);
    const j1 = clampIndex(Math.ceil((y + height) / cell), this.rows);
    let min = Infinity;
    let max = -Infinity;
    for (let j = j0; j <= j1; j++)
      for (let i = i0; i <= i1; i++) {
        const value = this.grid[j * this.columns + i]!;
        if (value < min) min = value;
        if (value > max) max = value;
      }
    return min > 0 ? 'all' : max <= 0 ? 'none' : 'some';
  }
}

function clampIndex(index: number, size: number): number {
  return Math.min(size - 1, Math.max(0, index));
}

/** Signed distance-like margin in pixels: positive inside a section (scaled by its short axis). */
function exactMargin(blobs: Blob[], x: number, y: number): number {
  let best = -Infinity;
  for (const blob of blobs) {
    const u = (x - blob.cx) / blob.a;
    const v = (y - blob.cy) / blob.b;
    const theta = Math.atan2(v, u);
    let radius = 1;
    for (const h of blob.harmonics) radius += h.amplitude * Math.sin(h.k * theta + h.phase);
    best = Math.max(best, (radius - Math.hypot(u, v)) * Math.min(blob.a, blob.b));
  }
  return best;
}

/** Paints level 0 on demand and serves every lower resolution from the area averages of what it painted. */
export class DemoSlideSource implements SvsPixelSource {
  readonly outline: SectionOutline;
  private readonly painter: TissuePainter;
  private readonly reducedWidth: number;
  private readonly reducedHeight: number;
  private readonly reduced: Uint8Array;
  private readonly blockColumns: number;
  /** Cells (cell × cell level-0 px) of bare glass: their reduced pixels stay the mean glass colour. */
  private readonly glassCells: Uint8Array;
  /** Cells whose reduced pixels hold painted averages, or glass. */
  private readonly covered: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    kind: DemoTissueKind,
    seed: number,
    mpp: number,
  ) {
    this.outline = new SectionOutline(width, height, seed);
    this.painter = new TissuePainter(demoTissueKindInfo[kind].style, seed, mpp, this.outline);
    this.reducedWidth = Math.ceil(width / reduction);
    this.reducedHeight = Math.ceil(height / reduction);
    this.reduced = new Uint8Array(this.reducedWidth * this.reducedHeight * 3);
    for (let i = 0; i < this.reduced.length; i += 3) this.reduced.set(glassRgb, i);
    this.blockColumns = Math.ceil(width / cell);
    this.covered = new Uint8Array(this.blockColumns * Math.ceil(height / cell));
    for (let j = 0; j * cell < height; j++)
      for (let i = 0; i * cell < width; i++)
        if (this.outline.cover(i * cell, j * cell, cell, cell) === 'none') this.covered[j * this.blockColumns + i] = 1;
    this.glassCells = this.covered.slice();
  }

  isBlankGlass(x: number, y: number, width: number, height: number): boolean {
    return this.outline.cover(x, y, width, height) === 'none';
  }

  render(levelX: number, levelY: number, width: number, height: number, downsample: number): Buffer {
    if (downsample === 1) return this.paint(levelX, levelY, width, height);
    this.ensurePainted(levelX * downsample, levelY * downsample, width * downsample, height * downsample);
    return this.sampleReduced(levelX, levelY, width, height, downsample);
  }

  private paint(x: number, y: number, width: number, height: number): Buffer {
    const rgb = this.painter.paint(x, y, width, height);
    this.accumulate(rgb, x, y, width, height);
    return rgb;
  }

  /** Area averages of the reduction × reduction blocks wholly inside the painted rectangle. */
  private accumulate(rgb: Buffer, x: number, y: number, width: number, height: number): void {
    const r = reduction;
    const bx0 = Math.ceil(x / r);
    const by0 = Math.ceil(y / r);
    const bx1 = Math.min(this.reducedWidth, Math.floor((x + width) / r));
    const by1 = Math.min(this.reducedHeight, Math.floor((y + height) / r));
    const area = r * r;
    for (let by = Math.max(0, by0); by < by1; by++)
      for (let bx = Math.max(0, bx0); bx < bx1; bx++) {
        if (this.glassCells[Math.floor((by * r) / cell) * this.blockColumns + Math.floor((bx * r) / cell)]) continue;
        let red = 0;
        let green = 0;
        let blue = 0;
        for (let dy = 0; dy < r; dy++) {
          let at = ((by * r + dy - y) * width + (bx * r - x)) * 3;
          for (let dx = 0; dx < r; dx++, at += 3) {
            red += rgb[at]!;
            green += rgb[at + 1]!;
            blue += rgb[at + 2]!;
          }
        }
        const out = (by * this.reducedWidth + bx) * 3;
        this.reduced[out] = Math.round(red / area);
        this.reduced[out + 1] = Math.round(green / area);
        this.reduced[out + 2] = Math.round(blue / area);
      }
    for (let j = Math.ceil(y / cell); (j + 1) * cell <= y + height && j * cell < this.height; j++)
      for (let i = Math.ceil(x / cell); (i + 1) * cell <= x + width && i * cell < this.width; i++)
        if (i >= 0 && j >= 0) this.covered[j * this.blockColumns + i] = 1;
  }

  /**
   * The writer asks for every level-0 tile before any lower resolution, so this finds nothing to
   * do; it keeps the pyramid right for any other order, at the cost of painting twice.
   */
  private ensurePainted(x: number, y: number, width: number, height: number): void {
    const i0 = Math.max(0, Math.floor(x / cell));
    const j0 = Math.max(0, Math.floor(y / cell));
    const i1 = Math.min(this.blockColumns, Math.ceil((x + width) / cell));
    const j1 = Math.min(Math.ceil(this.height / cell), Math.ceil((y + height) / cell));
    for (let j = j0; j < j1; j++)
      for (let i = i0; i < i1; i++)
        if (!this.covered[j * this.blockColumns + i]) this.paint(i * cell, j * cell, cell, cell);
  }

  /**
   * Box average over the reduced pixels under each output pixel. Below the reduction (only the
   * thumbnail of a small slide asks for that) the nearest reduced pixel stands in.
   */
  private sampleReduced(levelX: number, levelY: number, width: number, height: number, downsample: number): Buffer {
    const out = Buffer.allocUnsafe(width * height * 3);
    const scale = downsample / reduction;
    const w = this.reducedWidth;
    for (let row = 0; row < height; row++) {
      const ry0 = Math.min(this.reducedHeight - 1, Math.floor((levelY + row) * scale));
      const ry1 = Math.min(this.reducedHeight, Math.max(ry0 + 1, Math.ceil((levelY + row + 1) * scale)));
      for (let col = 0; col < width; col++) {
        const rx0 = Math.min(w - 1, Math.floor((levelX + col) * scale));
        const rx1 = Math.min(w, Math.max(rx0 + 1, Math.ceil((levelX + col + 1) * scale)));
        let red = 0;
        let green = 0;
        let blue = 0;
        for (let ry = ry0; ry < ry1; ry++)
          for (let rx = rx0, at = (ry * w + rx0) * 3; rx < rx1; rx++, at += 3) {
            red += this.reduced[at]!;
            green += this.reduced[at + 1]!;
            blue += this.reduced[at + 2]!;
          }
        const count = (ry1 - ry0) * (rx1 - rx0);
        const at = (row * width + col) * 3;
        out[at] = Math.round(red / count);
        out[at + 1] = Math.round(green / count);
        out[at + 2] = Math.round(blue / count);
      }
    }
    return out;
  }
}

export interface DemoSlide {
  path: string;
  kind: DemoTissueKind;
  width: number;
  height: number;
  mpp: number;
  levels: AperioSvsLevel[];
}

/** Writes one demo slide to `path` (the caller makes the write atomic). */
export async function writeDemoSlide(path: string, spec: DemoSlideSpec): Promise<DemoSlide> {
  const width = spec.width ?? demoSlideDefaults.width;
  const height = spec.height ?? demoSlideDefaults.height;
  const mpp = spec.mpp ?? demoSlideDefaults.mpp;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1344 && height >= 1344))
    throw new PathgenError(
      'InvalidInput',
      `a demo slide needs integer sides of at least 1344 px, got ${width}×${height}`,
      {
        width,
        height,
      },
    );
  const source = new DemoSlideSource(width, height, spec.kind, spec.seed, mpp);
  const levels = await writeAperioSvs(path, source, {
    width,
    height,
    mpp,
    appMag: Math.round(10 / mpp),
    jpegColour: spec.jpegColour ?? 'ycbcr',
    reuseGlassTiles: true,
    filename: `demo-${spec.kind}-${spec.seed}`,
    labelSeed: spec.seed,
  });
  return { path, kind: spec.kind, width, height, mpp, levels };
}
