import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openSlide } from './open-slide.js';
import { OtsuTissueDetector } from './otsu-tissue-detector.js';
import { PathgenError } from '../common/errors.js';
import { planCandidates, type PatchCandidate, type PatchGrid, type PatchGridConfig } from './patch-grid.js';
import { writePatches } from './patch-reading.js';
import { slideMetadata, type OpenSlideOptions, type SlideMetadata, type SlideReader } from './slide-reader.js';
import { readSlideThumbnail, type SlideThumbnail } from './slide-thumbnail.js';
import type { TissueDetector, TissueMask } from './tissue-mask.js';
import { renderOverlay } from './tile-overlay.js';

// The tile stage without Temporal: open, find tissue, lay the grid, and write the results to a
// directory. `planSlide` and the pieces it returns are what the Temporal activity reuses to write
// to the object store instead.

export interface PlanOptions extends PatchGridConfig {
  /** Level-0 pixels per tissue-mask pixel (default 32). */
  maskDownsample?: number;
  detector?: TissueDetector;
}

export interface SlidePlan {
  metadata: SlideMetadata;
  thumbnail: SlideThumbnail;
  mask: TissueMask;
  grid: PatchGrid;
}

export async function planSlide(reader: SlideReader, options: PlanOptions = {}): Promise<SlidePlan> {
  const thumbnail = await readSlideThumbnail(reader, options.maskDownsample ?? 32);
  const detector = options.detector ?? new OtsuTissueDetector();
  const mask = await detector.detect(reader, { thumbnail, downsample: thumbnail.scaleX });
  const grid = planCandidates(reader, mask, options);
  return { metadata: slideMetadata(reader), thumbnail, mask, grid };
}

/** The JSON record of a plan: slide metadata, how tissue was found, how the grid was laid. */
export function planRecord(plan: SlidePlan, options: PlanOptions): Record<string, unknown> {
  const { mask, grid } = plan;
  return {
    slide: plan.metadata,
    tissue: {
      detector: mask.detector,
      tissueFraction: mask.tissueFraction,
      maskWidth: mask.width,
      maskHeight: mask.height,
      scaleX: mask.scaleX,
      scaleY: mask.scaleY,
      ...mask.details,
    },
    grid: {
      patchSize: options.patchSize ?? 672,
      level: grid.level,
      targetMpp: grid.targetMpp,
      cellWidth: grid.cellWidth,
      cellHeight: grid.cellHeight,
      columns: grid.columns,
      rows: grid.rows,
      minTissueFraction: options.minTissueFraction ?? 0.5,
      tissueCells: grid.tissueCells,
      candidates: grid.candidates.length,
      maxCandidates: options.maxCandidates ?? null,
      seed: options.seed ?? 0,
    },
  };
}

export function candidatesJsonl(grid: PatchGrid): string {
  return grid.candidates.map((candidate) => JSON.stringify(candidate)).join('\n') + '\n';
}

/** The inverse of candidatesJsonl; `source` names the file or key in errors. */
export function parseCandidatesJsonl(text: string, source: string): PatchCandidate[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as PatchCandidate;
      } catch {
        throw new PathgenError('InvalidInput', `${source} line ${index + 1} is not JSON`, { source, line: index + 1 });
      }
    });
}

export async function inspectSlide(path: string, options: OpenSlideOptions = {}): Promise<SlideMetadata> {
  const reader = await openSlide(path, options);
  try {
    return slideMetadata(reader);
  } finally {
    await reader.close();
  }
}

export type TileProgress =
  { phase: 'planned'; candidates: number; tissueFraction: number } | { phase: 'patches'; done: number; total: number };

export interface TileSlideOptions extends OpenSlideOptions, Omit<PlanOptions, 'targetMpp'> {
  /** Target microns per pixel: tile at the physical scale instead of at `level`. */
  mpp?: number;
  /** Also write every candidate's pixels as patches/<x>_<y>.png. */
  writePatches?: boolean;
  onProgress?: (progress: TileProgress) => void;
}

export interface TileSlideSummary {
  outDir: string;
  candidates: number;
  tissueCells: number;
  gridCells: number;
  patchesWritten: number;
  tissueFraction: number;
}

/**
 * Writes candidates.jsonl, metadata.json, thumbnail.png and optionally patches/ into `outDir`.
 * Everything is staged beside it and moved in only on success, so a typed failure (unreadable
 * slide, no tissue, a tile that fails mid-way) leaves no patch and no partial output behind.
 */
export async function tileSlideToDirectory(
  path: string,
  outDir: string,
  options: TileSlideOptions = {},
): Promise<TileSlideSummary> {
  const planOptions: PlanOptions = { ...options };
  if (options.mpp !== undefined) planOptions.targetMpp = options.mpp;
  const staging = join(dirname(outDir), `.${basename(outDir)}.partial-${randomBytes(4).toString('hex')}`);
  const reader = await openSlide(path, options);
  try {
    const plan = await planSlide(reader, planOptions);
    options.onProgress?.({
      phase: 'planned',
      candidates: plan.grid.candidates.length,
      tissueFraction: plan.mask.tissueFraction,
    });
    await mkdir(staging, { recursive: true });
    await writeFile(join(staging, 'candidates.jsonl'), candidatesJsonl(plan.grid));
    await writeFile(join(staging, 'metadata.json'), JSON.stringify(planRecord(plan, planOptions), null, 2) + '\n');
    await writeFile(join(staging, 'thumbnail.png'), await renderOverlay(plan.thumbnail, plan.mask, plan.grid));
    let patchesWritten = 0;
    if (options.writePatches) {
      await mkdir(join(staging, 'patches'));
      const writeOptions: Parameters<typeof writePatches>[2] = {
        write: ({ candidate, png }) => writeFile(join(staging, 'patches', `${candidate.x}_${candidate.y}.png`), png),
        onProgress: (done, total) => options.onProgress?.({ phase: 'patches', done, total }),
      };
      if (options.signal) writeOptions.signal = options.signal;
      patchesWritten = (await writePatches(reader, plan.grid.candidates, writeOptions)).written;
    }
    await moveInto(staging, outDir);
    return {
      outDir,
      candidates: plan.grid.candidates.length,
      tissueCells: plan.grid.tissueCells,
      gridCells: plan.grid.columns * plan.grid.rows,
      patchesWritten,
      tissueFraction: plan.mask.tissueFraction,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
    await reader.close();
  }
}

/** Replaces what a previous run left in `outDir` with the staged results. */
async function moveInto(staging: string, outDir: string): Promise<void> {
  const exists = await stat(outDir).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await mkdir(dirname(outDir), { recursive: true });
    await rename(staging, outDir);
    return;
  }
  await rm(join(outDir, 'patches'), { recursive: true, force: true });
  for (const name of ['candidates.jsonl', 'metadata.json', 'thumbnail.png', 'patches']) {
    await rename(join(staging, name), join(outDir, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
}
