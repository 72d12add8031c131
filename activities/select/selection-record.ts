import type { Selection } from './index.js';
import type { PatchCandidate } from '../wsi/patch-grid.js';

// selection.jsonl: one line per kept patch, in priority order, saying where it is and why it was
// chosen (routes, rank per route, cluster, scores). What a person debugging prompts reads first.

export interface SelectionLine {
  x: number;
  y: number;
  level: number;
  width: number;
  height: number;
  /** 1-based position in the selection's priority order. */
  priority: number;
  routes: string[];
  ranks: Record<string, number>;
  cluster: number | null;
  scores: { attributeMax: number | null; findingSum: number | null; quality: number | null };
  /** Where the patch image was written, when it was. */
  file?: string;
}

export function selectionLines(
  selection: Selection,
  candidates: readonly PatchCandidate[],
  files: readonly (string | undefined)[] = [],
): string {
  return selection.patches
    .map((patch, position) => {
      const candidate = candidates[patch.index]!;
      const line: SelectionLine = {
        x: candidate.x,
        y: candidate.y,
        level: candidate.level,
        width: candidate.width,
        height: candidate.height,
        priority: position + 1,
        routes: patch.routes,
        ranks: patch.ranks,
        cluster: patch.cluster,
        scores: {
          attributeMax: round(patch.scores.attributeMax),
          findingSum: round(patch.scores.findingSum),
          quality: round(patch.scores.quality),
        },
        ...(files[position] !== undefined ? { file: files[position] } : {}),
      };
      return `${JSON.stringify(line)}\n`;
    })
    .join('');
}

/** Scores to 4 decimals: readable, and float32 noise is not information. */
function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1e4) / 1e4;
}

/** The counts and choices behind a selection, for its summary record. */
export function selectionSummary(selection: Selection): Record<string, unknown> {
  return {
    mode: selection.mode,
    candidates: selection.candidates,
    routes: selection.routes,
    kPolicy: selection.kPolicy,
    kRequested: selection.kRequested,
    k: selection.k,
    perCluster: selection.perCluster,
    kmeansIterations: selection.kmeansIterations,
    counts: selection.counts,
  };
}
