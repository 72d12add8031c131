import { sampleInOrder } from '../common/seeded-random.js';
import { missingResolution, noTissue } from './slide-errors.js';
import type { Microns, SlideReader } from './slide-reader.js';
import { maskCoverage, type TissueMask } from './tissue-mask.js';

// PathGen's candidate grid: non-overlapping square cells laid from the slide's origin (so aligned
// with the mask: 672 level-0 px = 21 mask px at 32×), kept when more than half tissue, wholly
// inside the slide. A cell is read either at a pyramid level, or at the level with enough
// resolution for a target mpp and then scaled so every patch covers the same physical size.

export interface PatchGridConfig {
  /** Patch side in output pixels (default 672). */
  patchSize?: number;
  /** Read at this pyramid level (default 0). Ignored when `targetMpp` is set. */
  level?: number;
  /** Microns per output pixel; the patch then covers patchSize × targetMpp microns. */
  targetMpp?: number;
  /** The slide's level-0 mpp when the file lacks it or is wrong. */
  mppOverride?: number | Microns;
  /** Relative slack when comparing a level's mpp with the target (default 1e-3, float noise only). */
  mppTolerance?: number;
  /** A cell is kept when its tissue fraction is above this (default 0.5). */
  minTissueFraction?: number;
  /** At most this many candidates, drawn with `seed`. */
  maxCandidates?: number;
  seed?: number;
}

export interface PatchCandidate {
  /** Top-left corner in level-0 pixels. */
  x: number;
  y: number;
  level: number;
  /** Size read at `level`. */
  width: number;
  height: number;
  /** Tissue fraction of the cell, 0-1. */
  tissue: number;
  /** Size after scaling, in target-mpp mode. */
  outputWidth?: number;
  outputHeight?: number;
}

export interface PatchGrid {
  candidates: PatchCandidate[];
  /** Cell size and stride in level-0 pixels. */
  cellWidth: number;
  cellHeight: number;
  columns: number;
  rows: number;
  /** Cells above the tissue threshold before any cap. */
  tissueCells: number;
  level: number;
  targetMpp: number | null;
}

export function planCandidates(reader: SlideReader, mask: TissueMask, config: PatchGridConfig = {}): PatchGrid {
  const patchSize = config.patchSize ?? 672;
  if (!Number.isInteger(patchSize) || patchSize <= 0)
    throw new RangeError(`patchSize must be a positive integer, got ${patchSize}`);
  if (config.maxCandidates !== undefined && (!Number.isInteger(config.maxCandidates) || config.maxCandidates < 1)) {
    throw new RangeError(`maxCandidates must be a positive integer, got ${config.maxCandidates}`);
  }
  const geometry =
    config.targetMpp === undefined
      ? levelGeometry(reader, config.level ?? 0, patchSize)
      : mppGeometry(reader, config, patchSize);
  const level0 = reader.levels[0]!;
  const columns = Math.floor(level0.width / geometry.cellWidth);
  const rows = Math.floor(level0.height / geometry.cellHeight);
  const threshold = config.minTissueFraction ?? 0.5;

  const kept: PatchCandidate[] = [];
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const x = column * geometry.cellWidth;
      const y = row * geometry.cellHeight;
      const tissue = maskCoverage(mask, x, y, geometry.cellWidth, geometry.cellHeight);
      if (tissue <= threshold) continue;
      const candidate: PatchCandidate = {
        x,
        y,
        level: geometry.level,
        width: geometry.readWidth,
        height: geometry.readHeight,
        tissue: Math.round(tissue * 10_000) / 10_000,
      };
      if (config.targetMpp !== undefined) {
        candidate.outputWidth = patchSize;
        candidate.outputHeight = patchSize;
      }
      kept.push(candidate);
    }
  }
  if (kept.length === 0) {
    throw noTissue(reader.path, {
      tissueFraction: mask.tissueFraction,
      cells: columns * rows,
      minTissueFraction: threshold,
    });
  }
  const candidates =
    config.maxCandidates !== undefined && kept.length > config.maxCandidates
      ? sampleInOrder(kept, config.maxCandidates, config.seed ?? 0)
      : kept;
  return {
    candidates,
    cellWidth: geometry.cellWidth,
    cellHeight: geometry.cellHeight,
    columns,
    rows,
    tissueCells: kept.length,
    level: geometry.level,
    targetMpp: config.targetMpp ?? null,
  };
}

interface Geometry {
  level: number;
  cellWidth: number;
  cellHeight: number;
  readWidth: number;
  readHeight: number;
}

function levelGeometry(reader: SlideReader, level: number, patchSize: number): Geometry {
  const info = reader.levels[level];
  if (!Number.isInteger(level) || !info)
    throw new RangeError(`level ${level} does not exist; the slide has ${reader.levels.length} levels`);
  const cell = Math.round(patchSize * info.downsample);
  return { level, cellWidth: cell, cellHeight: cell, readWidth: patchSize, readHeight: patchSize };
}

/** The coarsest level whose mpp does not exceed the target: enough resolution, least decoding. */
export function levelForMpp(reader: SlideReader, slideMpp: Microns, targetMpp: number, tolerance = 1e-3): number {
  let best = 0;
  reader.levels.forEach((level, index) => {
    const levelMpp = Math.max(slideMpp.x, slideMpp.y) * level.downsample;
    if (levelMpp <= targetMpp * (1 + tolerance) && level.downsample > reader.levels[best]!.downsample) best = index;
  });
  return best;
}

function mppGeometry(reader: SlideReader, config: PatchGridConfig, patchSize: number): Geometry {
  const targetMpp = config.targetMpp!;
  if (!(targetMpp > 0)) throw new RangeError(`targetMpp must be positive, got ${targetMpp}`);
  const override = config.mppOverride;
  const slideMpp =
    override === undefined ? reader.mpp : typeof override === 'number' ? { x: override, y: override } : override;
  if (!slideMpp) throw missingResolution(reader.path, targetMpp);
  const level = levelForMpp(reader, slideMpp, targetMpp, config.mppTolerance);
  const downsample = reader.levels[level]!.downsample;
  const cellWidth = Math.round((patchSize * targetMpp) / slideMpp.x);
  const cellHeight = Math.round((patchSize * targetMpp) / slideMpp.y);
  if (cellWidth < 1 || cellHeight < 1)
    throw new RangeError(`a ${patchSize}-pixel patch at ${targetMpp} µm/px is smaller than one slide pixel`);
  return {
    level,
    cellWidth,
    cellHeight,
    readWidth: Math.max(1, Math.round(cellWidth / downsample)),
    readHeight: Math.max(1, Math.round(cellHeight / downsample)),
  };
}
