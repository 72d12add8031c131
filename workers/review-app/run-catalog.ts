import { exportKeys } from '../../activities/contracts/keys.js';
import { readExportPointer } from '../../activities/export/export-pointer.js';
import type { ExportPointer } from '../../activities/export/export-pointer.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import type { SlideSummary } from './slide-summaries.js';

// The runs a store holds and what the runs page says of each: slide statuses, patch and caption
// counts, failures by reason, and the export versions.

const runsPrefix = 'runs/';

/**
 * Every run id under `runs/`, one listing request per run: after a run's first key the listing
 * jumps past all of its keys (`runs/<id>0` sorts after every `runs/<id>/…`, since '/' < '0').
 */
export async function listRunIds(store: ObjectStore): Promise<string[]> {
  const ids: string[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await store.listPage(runsPrefix, { startAfter, limit: 1 });
    const key = page.objects[0]?.key;
    if (key === undefined) return ids;
    const runId = key.slice(runsPrefix.length).split('/')[0];
    if (!runId || !key.slice(runsPrefix.length).includes('/')) {
      startAfter = key;
      continue;
    }
    ids.push(runId);
    startAfter = `${runsPrefix}${runId}0`;
  }
}

export interface RunTotals {
  slides: number;
  byStatus: Record<string, number>;
  failuresByReason: Record<string, number>;
  patchFailuresByCode: Record<string, number>;
  patches: number;
  captions: number;
  projects: string[];
}

export function runTotals(slides: readonly SlideSummary[]): RunTotals {
  const totals: RunTotals = {
    slides: slides.length,
    byStatus: {},
    failuresByReason: {},
    patchFailuresByCode: {},
    patches: 0,
    captions: 0,
    projects: [],
  };
  const projects = new Set<string>();
  const add = (counts: Record<string, number>, name: string, by = 1) => (counts[name] = (counts[name] ?? 0) + by);
  for (const slide of slides) {
    add(totals.byStatus, slide.status);
    if (slide.status !== 'completed') add(totals.failuresByReason, slide.reason ?? 'unknown');
    for (const [code, count] of Object.entries(slide.failures)) add(totals.patchFailuresByCode, code, count);
    totals.patches += slide.samples;
    totals.captions += slide.captioned;
    if (slide.project) projects.add(slide.project);
  }
  totals.projects = [...projects].sort();
  return totals;
}

export interface ExportVersions {
  latest?: ExportPointer;
  /** The latest version first, then the earlier ones still kept. */
  versions: string[];
}

export async function exportVersions(store: ObjectStore, runId: string): Promise<ExportVersions> {
  const latest = await readExportPointer(store, exportKeys.prefix(runId));
  if (!latest) return { versions: [] };
  return { latest, versions: [latest.version, ...latest.previousVersions] };
}
