import type { AgentUsage } from '../agents/index.js';
import type { SlideJob, SlideStatus } from './slide-job.js';

// What a run leaves in the store for each slide: one slide record at `runs/<runId>/slides/<slideId>.json`
// (runKeys.slideRecord in keys.ts), written last by the slide workflow (a completed slide, or a
// failed one with its reason). The export reads these records and nothing else to find a run's
// samples; reruns overwrite them.

/** One captioned (or failed) patch of a slide, pointing at its stored pieces. */
export interface SampleRef {
  /** `<x>_<y>` of the patch's level-0 corner. */
  id: string;
  x: number;
  y: number;
  level: number;
  /** Side of the patch as read (level pixels). */
  size: number;
  mpp?: number;
  /** The patch JPEG. */
  jpegKey: string;
  /**
   * The caption record: JSON with at least `caption` (and for agent runs the describe, revise and
   * summarize records' `description`, `revised`, `edits`, `tokens`, backends, models, prompt
   * versions and usage). Absent when the patch failed.
   */
  recordKey?: string;
  /** Why the patch has no caption. */
  failure?: { agent: string; code: string; reason: string };
}

export interface SlideRecord {
  runId: string;
  slideId: string;
  slide: string;
  project?: string;
  /** GDC file id when the manifest or the PathGen JSON names one. */
  fileId?: string;
  /** The id the PathGen JSON uses for the slide (`wsi_id`); defaults to slideId. */
  wsiId?: string;
  status: SlideStatus;
  /** Failure type of a failed slide (SlideUnreadable, NoTissue, …). */
  reason?: string;
  message?: string;
  /** Patches per stage: candidates, selected, described, revised, captioned, failed. */
  counts: Record<string, number>;
  /** Patch failures by code. */
  failures: Record<string, number>;
  usage: AgentUsage;
  samples: SampleRef[];
  /** Where the stages wrote (for people and reruns). */
  prefixes: Record<string, string>;
  startedAt: string;
  finishedAt: string;
  /** What the slide ran from (its manifest row, or its materialize-mode slide): what a rerun starts again with. */
  job?: SlideJob;
}
