// The public surface of evaluation datasets: the nine PathGen zero-shot definitions, loaders for a
// folder of class folders, a CSV of images and a CSV of slide splits, and the resolver that turns
// a user's dataset spec into classes, prompt names, templates and samples per split.

export {
  classPlaceholder,
  classPrompts,
  defaultTemplate,
  fillTemplate,
  templateSchema,
  validateDatasetDefinition,
  type DatasetClass,
  type DatasetDefinition,
  type DatasetDefinitionInput,
} from './dataset-definition.js';
export { pathgenDataset, pathgenDatasetIds, pathgenDatasets } from './pathgen-datasets.js';
export {
  datasetSplits,
  imageExtensions,
  type DatasetLoadOptions,
  type DatasetSample,
  type DatasetSplit,
  type LoadedDataset,
} from './dataset-samples.js';
export { maxListedProblems, type DatasetProblem } from './dataset-problems.js';
export { loadImageFolder } from './image-folder.js';
export { loadSampleCsv } from './sample-csv.js';
export { readSplitCsv, type SlideSplitEntry, type SlideSplits, type SplitCsvOptions } from './split-csv.js';
export {
  datasetSpecSchema,
  evaluationSamples,
  resolveDataset,
  type DatasetSpec,
  type ResolvedDataset,
  type SplitName,
} from './resolve-dataset.js';
