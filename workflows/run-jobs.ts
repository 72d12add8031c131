import type { MaterializeActivities } from '../activities/stages/materialize.js';
import type { ManifestCursor, ManifestRef, RunActivities } from '../activities/stages/run.js';
import { rerunPending } from './run-rerun.js';
import type { RunState } from './run-state.js';

// Where a run's next slides come from, one page at a time: what failed (failed slides, completed
// slides with failed patches) to rerun first, then the materialize-mode slide list or the
// manifest. Pages keep the history small whatever the cohort.

export interface JobSources {
  listFailedSlides: RunActivities['listFailedSlides'];
  readManifestPage: RunActivities['readManifestPage'];
  readMaterializeSlides: MaterializeActivities['readMaterializeSlides'];
}

/**
 * Adds the next page of slides to `state.pending` and advances its cursors. False when every source
 * is used up (the page it read may still have been empty: call again until false).
 */
export async function readNextJobs(
  state: RunState,
  source: { runId: string; manifest?: ManifestRef; materialize?: unknown },
  sources: JobSources,
): Promise<boolean> {
  const { runId } = source;
  const limit = state.prepared.settings.manifestPageSize;
  if (state.rerun) {
    const rerun = state.rerun;
    const page = await sources.listFailedSlides({
      runId,
      ...(rerun.reason !== undefined ? { reason: rerun.reason } : {}),
      ...(rerun.slidesOnly ? {} : { patchFailures: true }),
      ...(rerun.startAfter !== undefined ? { startAfter: rerun.startAfter } : {}),
      limit,
    });
    for (const failed of page.slides) state.pending.push(rerunPending(state, rerun, failed));
    state.rerun = page.next !== undefined ? { ...rerun, startAfter: page.next } : undefined;
    return true;
  }
  if (!state.manifestDone && source.materialize) {
    const page = await sources.readMaterializeSlides({
      runId,
      ...(state.cursor ? { cursor: state.cursor } : {}),
      limit,
    });
    state.pending.push(...page.slides.map((slide) => ({ job: { kind: 'materialize' as const, slide } })));
    return advance(state, page.next);
  }
  if (!state.manifestDone && source.manifest) {
    const page = await sources.readManifestPage({
      runId,
      manifest: source.manifest,
      ...(state.cursor ? { cursor: state.cursor } : {}),
      limit,
    });
    state.pending.push(...page.rows.map((row) => ({ job: { kind: 'pipeline' as const, row } })));
    return advance(state, page.next);
  }
  return false;
}

/** Moves the slide source's cursor on, or marks it read to the end. */
function advance(state: RunState, next: ManifestCursor | undefined): true {
  if (next) state.cursor = next;
  else state.manifestDone = true;
  return true;
}
