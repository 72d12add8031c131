// The building blocks of `pathgen demo`: a synthetic cohort with reports, a Temporal dev server
// started when none answers, and the progress view and summary the command prints.

export {
  demoCohortVersion,
  writeDemoCohort,
  writeHeldOutPatches,
  type DemoCohort,
  type DemoCohortOptions,
  type DemoCohortSlide,
  type HeldOutPatches,
  type HeldOutPatchOptions,
} from './demo-cohort.js';
export {
  demoTissueKindInfo,
  demoTissueKinds,
  type DemoTissueKind,
  type DemoTissueKindInfo,
} from '../synthetic/slides/tissue-kinds.js';
export {
  demoSlideDefaults,
  writeDemoSlide,
  type DemoSlide,
  type DemoSlideSpec,
} from '../synthetic/slides/synthetic-demo-slide.js';
export { demoReport } from './demo-reports.js';
export { ensureTemporalDevServer, listSearchAttributes, type DevServer, type DevServerOptions } from './dev-server.js';
export {
  createProgressView,
  formatDemoSummary,
  formatDuration,
  pipelineStages,
  progressLine,
  progressLines,
  type DemoSummary,
  type ProgressView,
  type ProgressViewOptions,
} from './progress-view.js';
export { writeAperioSvs, type AperioSvsOptions, type SvsPixelSource } from '../synthetic/slides/aperio-svs-writer.js';
