import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { PathgenError } from '../../activities/common/errors.js';
import type { ManifestRow } from '../../activities/manifest/manifest-row.js';
import type { TcgaProjectCode } from '../../activities/tcga/tcga-projects.js';
import { seededRandom } from '../../activities/common/seeded-random.js';
import { cellHash } from '../synthetic/slides/cell-hash.js';
import { demoReport } from './demo-reports.js';
import { demoSlideDefaults, writeDemoSlide } from '../synthetic/slides/synthetic-demo-slide.js';
import { demoTissueKindInfo, demoTissueKinds, type DemoTissueKind } from '../synthetic/slides/tissue-kinds.js';
import { TissuePainter } from '../synthetic/slides/tissue-painter.js';

// The demo's cohort: a few synthetic Aperio slides, their kinds taken in turn, each with a report
// and a TCGA project, and the manifest rows that name them. A slide is complete once its sidecar
// (written last, by rename, like the slide) describes exactly what is asked, so a rerun reuses
// every slide already written and an interrupted one is written again.

/** Bumped whenever the drawing or the reports change, so old files are not taken for new ones. */
export const demoCohortVersion = 'demo-cohort/2';

export interface DemoCohortOptions {
  slides?: number;
  seed?: number;
  width?: number;
  height?: number;
  /** Told as each slide is ready, written or reused. */
  onSlide?: (slide: DemoCohortSlide, index: number, total: number) => void;
}

export interface DemoCohortSlide {
  slideId: string;
  path: string;
  kind: DemoTissueKind;
  project: TcgaProjectCode;
  /** True when the slide was already complete on disk. */
  reused: boolean;
  /** Milliseconds spent writing it (0 when reused). */
  writeMs: number;
}

export interface DemoCohort {
  manifestRows: ManifestRow[];
  slides: DemoCohortSlide[];
}

interface SlideRecord {
  version: string;
  slideId: string;
  kind: DemoTissueKind;
  project: TcgaProjectCode;
  seed: number;
  width: number;
  height: number;
  mpp: number;
  report: string;
  bytes?: number;
}

export async function writeDemoCohort(dir: string, options: DemoCohortOptions = {}): Promise<DemoCohort> {
  const slides = options.slides ?? 3;
  const seed = options.seed ?? 0;
  const width = options.width ?? demoSlideDefaults.width;
  const height = options.height ?? demoSlideDefaults.height;
  if (!Number.isInteger(slides) || slides < 1 || slides > 10_000)
    throw new PathgenError('InvalidInput', `the demo needs 1 to 10,000 slides, got ${slides}`, { slides });
  if (!Number.isInteger(seed) || seed < 0)
    throw new PathgenError('InvalidInput', `the demo seed must be a non-negative integer, got ${seed}`, { seed });
  await mkdir(dir, { recursive: true });
  const custom = width !== demoSlideDefaults.width || height !== demoSlideDefaults.height;
  const out: DemoCohort = { manifestRows: [], slides: [] };
  for (let index = 0; index < slides; index++) {
    const kind = demoTissueKinds[index % demoTissueKinds.length]!;
    const projects = demoTissueKindInfo[kind].projects;
    const project = projects[Math.floor(index / demoTissueKinds.length) % projects.length]!;
    const slideSeed = Math.floor(cellHash(index, seed, 0x51de) * 2 ** 31);
    const slideId = [
      `demo-${String(index + 1).padStart(3, '0')}-${kind}`,
      ...(seed !== 0 ? [`s${seed}`] : []),
      ...(custom ? [`${width}x${height}`] : []),
    ].join('-');
    const record: SlideRecord = {
      version: demoCohortVersion,
      slideId,
      kind,
      project,
      seed: slideSeed,
      width,
      height,
      mpp: demoSlideDefaults.mpp,
      report: demoReport(kind, project, seededRandom(slideSeed ^ 0x7e9017)),
    };
    const slidePath = path.resolve(dir, `${slideId}.svs`);
    const started = performance.now();
    const reused = await isComplete(slidePath, record);
    if (!reused) await writeSlide(slidePath, record);
    const slide: DemoCohortSlide = {
      slideId,
      path: slidePath,
      kind,
      project,
      reused,
      writeMs: reused ? 0 : Math.round(performance.now() - started),
    };
    out.slides.push(slide);
    out.manifestRows.push({ slideId, slide: slidePath, report: record.report, project });
    options.onSlide?.(slide, index, slides);
  }
  return out;
}

function sidecarPath(slidePath: string): string {
  return slidePath.replace(/\.svs$/, '.json');
}

async function isComplete(slidePath: string, record: SlideRecord): Promise<boolean> {
  const text = await readFile(sidecarPath(slidePath), 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  let stored: SlideRecord;
  try {
    stored = JSON.parse(text) as SlideRecord;
  } catch {
    return false;
  }
  const { bytes, ...described } = stored;
  if (JSON.stringify(described) !== JSON.stringify(record)) return false;
  const size = await stat(slidePath).then(
    (s) => s.size,
    () => -1,
  );
  return size === bytes;
}

async function writeSlide(slidePath: string, record: SlideRecord): Promise<void> {
  await rm(sidecarPath(slidePath), { force: true });
  const partial = `${slidePath}.partial-${randomBytes(4).toString('hex')}`;
  try {
    await writeDemoSlide(partial, {
      kind: record.kind,
      seed: record.seed,
      width: record.width,
      height: record.height,
      mpp: record.mpp,
    });
    await rename(partial, slidePath);
  } finally {
    await rm(partial, { force: true });
  }
  const bytes = (await stat(slidePath)).size;
  await writeAtomically(sidecarPath(slidePath), JSON.stringify({ ...record, bytes }, null, 2) + '\n');
}

async function writeAtomically(file: string, data: string | Buffer): Promise<void> {
  const partial = `${file}.partial-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(partial, data);
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
}

export interface HeldOutPatchOptions {
  /** Patches of each kind (default 20). */
  perKind?: number;
  seed?: number;
  /** Side in pixels (default 672, PathGen's patch). */
  size?: number;
}

export interface HeldOutPatches {
  dir: string;
  /** labels.csv: `filepath,label`, paths relative to `dir`. */
  labelsCsv: string;
  classes: { kind: DemoTissueKind; className: string; dir: string }[];
  patches: { path: string; kind: DemoTissueKind }[];
}

/**
 * Patches of every kind that no demo slide contains (their own seeds, far from any slide's
 * coordinates), one folder per kind, for a zero-shot check of a model trained on the demo's
 * export. Each goes through the slides' JPEG compression so it looks like a patch read from one.
 */
export async function writeHeldOutPatches(dir: string, options: HeldOutPatchOptions = {}): Promise<HeldOutPatches> {
  const perKind = options.perKind ?? 20;
  const seed = options.seed ?? 0;
  const size = options.size ?? 672;
  if (!Number.isInteger(perKind) || perKind < 1)
    throw new PathgenError('InvalidInput', `perKind must be a positive integer, got ${perKind}`, { perKind });
  const patches: HeldOutPatches['patches'] = [];
  const classes: HeldOutPatches['classes'] = [];
  const lines = ['filepath,label'];
  for (const kind of demoTissueKinds) {
    const info = demoTissueKindInfo[kind];
    const kindDir = path.resolve(dir, kind);
    await mkdir(kindDir, { recursive: true });
    classes.push({ kind, className: info.className, dir: kindDir });
    const painterSeed = Math.floor(cellHash(demoTissueKinds.indexOf(kind), seed, 0x4e1d) * 2 ** 31);
    const painter = new TissuePainter(info.style, painterSeed, demoSlideDefaults.mpp);
    for (let k = 0; k < perKind; k++) {
      const name = `${kind}-${String(k + 1).padStart(4, '0')}-s${seed}.png`;
      const file = path.join(kindDir, name);
      lines.push(`${kind}/${name},${kind}`);
      patches.push({ path: file, kind });
      if (await exists(file)) continue;
      // Far from the origin (where slides lie) and apart from each other.
      const rgb = painter.paint(200_000 + (k % 64) * 3 * size, 200_000 + Math.floor(k / 64) * 3 * size, size, size);
      const raw = { raw: { width: size, height: size, channels: 3 as const } };
      const jpeg = await sharp(rgb, raw).jpeg({ quality: 80, chromaSubsampling: '4:4:4' }).toBuffer();
      await writeAtomically(file, await sharp(jpeg).png().toBuffer());
    }
  }
  const labelsCsv = path.resolve(dir, 'labels.csv');
  await writeAtomically(labelsCsv, lines.join('\n') + '\n');
  return { dir: path.resolve(dir), labelsCsv, classes, patches };
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
