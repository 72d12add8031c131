import type { ManifestRow } from '../manifest/manifest-row.js';
import type { AgentUsage } from './usage.js';

export type { ManifestRow };

// What a run hands a slide workflow and what comes back: the job (a manifest row, or a
// materialize-mode slide), what recordSlide is told when the slide ends, and the summary it returns.

export type SlideStatus = 'completed' | 'failed';

export interface MaterializeSlideRef {
  slideId: string;
  slide: string;
  wsiId: string;
  project?: string;
  /** Records of the slide in the source, repeated positions included. */
  patches: number;
}

/** What a failed slide is rerun from: its manifest row, or its materialize-mode slide. */
export type SlideJob = { kind: 'pipeline'; row: ManifestRow } | { kind: 'materialize'; slide: MaterializeSlideRef };

export function jobSlide(job: SlideJob): { slideId: string; slide: string; project?: string } {
  return job.kind === 'pipeline' ? job.row : job.slide;
}

export interface RecordSlideInput {
  runId: string;
  job: SlideJob;
  status: SlideStatus;
  reason?: string;
  message?: string;
  candidates?: number;
  selectResultKey?: string;
  agentsPrefix?: string;
  usage: AgentUsage;
  prefixes: Record<string, string>;
  startedAt: string;
}

export interface SlideSummary {
  slideId: string;
  status: SlideStatus;
  reason?: string;
  counts: Record<string, number>;
  failures: Record<string, number>;
}
