// Every workflow the pathgen worker hosts. The worker bundles this file; keep it free of side effects.
export { pathgenDiagnostic } from './diagnostic.js';
export { pathgenTile } from './tile.js';
export { pathgenSlide } from './slide.js';
export { pathgenRun } from './run.js';
export { pathgenMaterializeSlide } from './materialize-slide.js';
export { pathgenExport } from './export.js';
export { pathgenTrain } from './train.js';
export { pathgenEval } from './eval.js';
