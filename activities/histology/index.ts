// The public surface of the model-free histology measurements and the built-in describe/revise
// logic built on them. Nothing here knows about Temporal or model servers.

export { measurePatch, measurementsVersion, type PatchMeasurements, type PatchPixels } from './patch-measurements.js';
export { measurementSettings } from './measurement-settings.js';
export {
  measurementFeatureNames,
  measurementFeatures,
  tissueQuality,
  tissueQualitySettings,
} from './measurement-features.js';
export { describeMeasurements, type Statement } from './builtin-description.js';
export type { DescriptionContext } from './description-context.js';
export { contradictionRules, findContradiction, type ContradictionRule } from './statement-checks.js';
export {
  descriptionThresholds,
  densityLevel,
  eosinLevel,
  nucleiPerMm2,
  type DensityLevel,
  type EosinLevel,
} from './description-thresholds.js';
export { mixStains, separateStains, stainVectors, type StainDensities } from './stain-deconvolution.js';
