// Synthetic H&E-like patches with known contents, for the measurement and description tests. The
// colours come from Beer–Lambert mixing with the same stain vectors the deconvolution uses: pink
// stroma of a chosen eosin density, dark purple roundish nuclei at a chosen density and size, clear
// round fat vacuoles, clear lumina (elongated slits and small round acini) and a band of glass.
// Everything derives from the seed; the drawn geometry comes back as ground truth.
import { mixStains } from '../../activities/histology/stain-deconvolution.js';
import type { RgbImage } from '../../activities/wsi/slide-reader.js';
import { seededRandom } from '../../activities/common/seeded-random.js';

export interface SyntheticPatchSpec {
  seed: number;
  /** Square side in pixels (default 672, PathGen's patch). */
  size?: number;
  /** µm per pixel the geometry is drawn at (default 0.25, a 40× scan). */
  mpp?: number;
  /** Eosin OD of the stroma (pale ≈ 0.05, eosin-rich ≈ 0.3; default 0.18). */
  stromaEosin?: number;
  /** Nuclei per mm² of tissue section (stroma + fat + lumina); 0 draws none. */
  nucleiPerMm2?: number;
  /** Mean nucleus radius in µm (default 3.5, about 38 µm²) and its relative spread (default 0.15). */
  nucleusRadiusUm?: number;
  nucleusRadiusSpread?: number;
  /** Gap between nuclei in pixels (default 3); negative lets neighbours overlap into clumps. */
  nucleusGapPx?: number;
  /** Hematoxylin OD in the nuclei (default 0.75). */
  nucleusHematoxylin?: number;
  /** Fat vacuoles: how many, and their radius range in µm (default 25–40 µm). */
  fatVacuoles?: number;
  fatRadiusUm?: [number, number];
  /** Lumina: how many (alternating elongated slits and small round acini). */
  lumina?: number;
  /** Fraction of the width, on the right, that is bare glass. */
  backgroundFraction?: number;
}

export interface SyntheticPatch {
  image: RgbImage;
  mpp: number;
  truth: {
    nuclei: number;
    /** Nuclei per mm² of section, as drawn (count actually placed). */
    nucleiPerMm2: number;
    stromaPx: number;
    fatPx: number;
    lumenPx: number;
    backgroundPx: number;
  };
}

const stroma = 0;
const fat = 1;
const lumen = 2;
const glass = 3;

interface Disc {
  x: number;
  y: number;
  r: number;
}

export function syntheticPatch(spec: SyntheticPatchSpec): SyntheticPatch {
  const size = spec.size ?? 672;
  const mpp = spec.mpp ?? 0.25;
  const random = seededRandom(spec.seed);
  const region = new Uint8Array(size * size);
  const umToPx = (um: number): number => um / mpp;

  const glassStart = Math.round(size * (1 - (spec.backgroundFraction ?? 0)));
  for (let y = 0; y < size; y++) region.fill(glass, y * size + glassStart, y * size + size);

  // Fat vacuoles lie wholly inside the tissue and apart from each other by a septum of stroma.
  const [fatMin, fatMax] = spec.fatRadiusUm ?? [25, 40];
  const vacuoles: Disc[] = [];
  for (let attempt = 0; vacuoles.length < (spec.fatVacuoles ?? 0) && attempt < 5000; attempt++) {
    const r = umToPx(fatMin + random() * (fatMax - fatMin));
    const disc = { x: r + 2 + random() * (glassStart - 2 * r - 4), y: r + 2 + random() * (size - 2 * r - 4), r };
    if (disc.x + r + 6 > glassStart) continue;
    if (vacuoles.every((v) => Math.hypot(v.x - disc.x, v.y - disc.y) > v.r + r + 6)) vacuoles.push(disc);
  }
  for (const v of vacuoles) paint(region, size, v, 1, 0, fat);

  // Lumina: slits (semi-axes 15 × 4 µm) and acini (radius 7 µm), only where the tissue is plain stroma.
  const placedLumina: Disc[] = [];
  for (let attempt = 0; placedLumina.length < (spec.lumina ?? 0) && attempt < 5000; attempt++) {
    const slit = placedLumina.length % 2 === 0;
    const a = umToPx(slit ? 15 : 7);
    const b = umToPx(slit ? 4 : 7);
    const disc = { x: a + 4 + random() * (size - 2 * a - 8), y: a + 4 + random() * (size - 2 * a - 8), r: a };
    if (!allStroma(region, size, disc.x, disc.y, a + 4)) continue;
    const angle = random() * Math.PI;
    paint(region, size, disc, b / a, angle, lumen);
    placedLumina.push(disc);
  }

  // Nuclei: non-touching ellipses in plain stroma, as many as the density asks over the section area.
  let sectionPx = 0;
  for (const value of region) if (value !== glass) sectionPx++;
  const sectionMm2 = sectionPx * mpp * mpp * 1e-6;
  const wanted = Math.round((spec.nucleiPerMm2 ?? 0) * sectionMm2);
  const meanRadius = umToPx(spec.nucleusRadiusUm ?? 3.5);
  const spread = spec.nucleusRadiusSpread ?? 0.15;
  const gap = spec.nucleusGapPx ?? 3;
  const nuclei: (Disc & { aspect: number; angle: number })[] = [];
  const nucleusMap = new Float32Array(size * size);
  for (let attempt = 0; nuclei.length < wanted && attempt < wanted * 200; attempt++) {
    const r = meanRadius * (1 + spread * (2 * random() - 1));
    const x = r + 1 + random() * (size - 2 * r - 2);
    const y = r + 1 + random() * (size - 2 * r - 2);
    if (!allStroma(region, size, x, y, r + 2)) continue;
    if (nuclei.some((o) => Math.hypot(o.x - x, o.y - y) < o.r + r + gap)) continue;
    nuclei.push({ x, y, r, aspect: 0.75 + random() * 0.25, angle: random() * Math.PI });
  }
  for (const nucleus of nuclei) paintSoft(nucleusMap, size, nucleus, nucleus.aspect, nucleus.angle);

  const nucleusH = spec.nucleusHematoxylin ?? 0.75;
  const stromaE = spec.stromaEosin ?? 0.18;
  const data = Buffer.alloc(size * size * 3);
  const truth = { stromaPx: 0, fatPx: 0, lumenPx: 0, backgroundPx: 0 };
  for (let i = 0; i < size * size; i++) {
    const kind = region[i]!;
    let h: number;
    let e: number;
    if (kind === stroma) {
      truth.stromaPx++;
      const w = nucleusMap[i]!;
      const fibre = 1 + 0.3 * (random() - 0.5);
      const chromatin = 1 + 0.3 * (random() - 0.5);
      h = 0.03 * fibre + w * nucleusH * chromatin;
      e = stromaE * fibre * (1 - 0.6 * w) + 0.08 * w;
    } else {
      if (kind === fat) truth.fatPx++;
      else if (kind === lumen) truth.lumenPx++;
      else truth.backgroundPx++;
      h = 0.004 + 0.004 * random();
      e = 0.004 + 0.004 * random();
    }
    const [red, green, blue] = mixStains(h, e);
    data[3 * i] = red;
    data[3 * i + 1] = green;
    data[3 * i + 2] = blue;
  }
  return {
    image: { data, width: size, height: size },
    mpp,
    truth: { nuclei: nuclei.length, nucleiPerMm2: sectionMm2 > 0 ? nuclei.length / sectionMm2 : 0, ...truth },
  };
}

/** A blank patch of one colour (glass white by default). */
export function uniformPatch(width: number, height: number, rgb: [number, number, number] = [242, 242, 244]): RgbImage {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, 3 * i);
  return { data, width, height };
}

function allStroma(region: Uint8Array, size: number, cx: number, cy: number, r: number): boolean {
  for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++)
    for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
      if (x < 0 || y < 0 || x >= size || y >= size || region[y * size + x] !== stroma) return false;
    }
  return true;
}

/** Marks the pixels inside an ellipse (semi-axes r and r × aspect, rotated by angle) as `kind`. */
function paint(region: Uint8Array, size: number, disc: Disc, aspect: number, angle: number, kind: number): void {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  for (let y = Math.max(0, Math.floor(disc.y - disc.r)); y <= Math.min(size - 1, Math.ceil(disc.y + disc.r)); y++)
    for (let x = Math.max(0, Math.floor(disc.x - disc.r)); x <= Math.min(size - 1, Math.ceil(disc.x + disc.r)); x++) {
      const u = ((x - disc.x) * cos + (y - disc.y) * sin) / disc.r;
      const v = (-(x - disc.x) * sin + (y - disc.y) * cos) / (disc.r * aspect);
      if (u * u + v * v <= 1) region[y * size + x] = kind;
    }
}

/** Adds an ellipse with a one-pixel soft rim (weights 0–1), as a scanned edge looks. */
function paintSoft(map: Float32Array, size: number, disc: Disc, aspect: number, angle: number): void {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  for (
    let y = Math.max(0, Math.floor(disc.y - disc.r - 1));
    y <= Math.min(size - 1, Math.ceil(disc.y + disc.r + 1));
    y++
  )
    for (
      let x = Math.max(0, Math.floor(disc.x - disc.r - 1));
      x <= Math.min(size - 1, Math.ceil(disc.x + disc.r + 1));
      x++
    ) {
      const u = ((x - disc.x) * cos + (y - disc.y) * sin) / disc.r;
      const v = (-(x - disc.x) * sin + (y - disc.y) * cos) / (disc.r * aspect);
      const distanceOutside = (Math.sqrt(u * u + v * v) - 1) * disc.r * Math.sqrt(aspect);
      const weight = Math.min(1, Math.max(0, 0.5 - distanceOutside));
      if (weight > 0) map[y * size + x] = Math.max(map[y * size + x]!, weight);
    }
}
