// The public surface of the select stage's domain code: attribute prompts, per-slide prompt sets,
// k-means and PathGen's representative-patch selection. Nothing here knows about Temporal.

export {
  attributePrompts,
  attributePromptsHash,
  attributePromptsVersion,
  canonicalAttributePrompts,
} from './tcga-attribute-prompts.js';
export { buildPromptSet, normaliseFindings, type PromptSet, type PromptSetInput } from './prompt-set.js';
export { kmeans, kmeansDefaults, type KmeansOptions, type KmeansResult } from './kmeans.js';
export type { KmeansProgress } from './kmeans-progress.js';
export type { KernelBackend } from './centroid-kernels.js';
export {
  clusterCount,
  sampleClusters,
  type ClusterPick,
  type ClusterSampling,
  type KPolicy,
} from './cluster-sampling.js';
export { dropProbability, filterDuplicates, type DroppedDuplicate, type DuplicateMode } from './duplicate-filter.js';
export { defaultLogitScale, l2NormaliseRows, scoreMatrix } from './score-matrix.js';
export { rowMaxima, rowSums, topRows, type RankedRow } from './rankings.js';
export {
  resolveSelectionOptions,
  selectionDefaults,
  type SelectionMode,
  type SelectionOptions,
} from './selection-options.js';
export {
  selectRepresentatives,
  type SelectedPatch,
  type Selection,
  type SelectionInput,
  type SelectionRoute,
} from './select-representatives.js';
