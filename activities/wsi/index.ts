// The public surface of the slide-reading domain code of the tile stage. Nothing here knows about
// Temporal: the activity and the CLI compose these pieces.

export { openSlide, defaultConversionCacheDir } from './open-slide.js';
export type {
  AssociatedImageInfo,
  Microns,
  OpenSlideOptions,
  RegionRead,
  RgbImage,
  SlideFormat,
  SlideLevel,
  SlideMetadata,
  SlideReader,
} from './slide-reader.js';
export { slideMetadata } from './slide-reader.js';
export { SlideError, isSlideError, type SlideErrorCode } from './slide-errors.js';

export { readSlideThumbnail, nearestLevel, type SlideThumbnail } from './slide-thumbnail.js';
export { maskCoverage, type TissueDetector, type TissueDetectionOptions, type TissueMask } from './tissue-mask.js';
export { OtsuTissueDetector, defaultOtsuTissueOptions, type OtsuTissueOptions } from './otsu-tissue-detector.js';

export {
  planCandidates,
  levelForMpp,
  type PatchCandidate,
  type PatchGrid,
  type PatchGridConfig,
} from './patch-grid.js';
export {
  readCandidate,
  readPatches,
  writePatches,
  encodePatchPng,
  type Patch,
  type PatchIterationOptions,
  type WritePatchesOptions,
} from './patch-reading.js';
export { renderOverlay } from './tile-overlay.js';
export {
  planSlide,
  planRecord,
  candidatesJsonl,
  inspectSlide,
  tileSlideToDirectory,
  type PlanOptions,
  type SlidePlan,
  type TileProgress,
  type TileSlideOptions,
  type TileSlideSummary,
} from './tissue-patch-plan.js';
