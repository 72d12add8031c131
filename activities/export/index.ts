// The public surface of dataset export: WebDataset tar shards, the open_clip CSV, the PathGen-1.6M
// JSON and the dataset card, written as a new version and published by flipping a pointer. Nothing
// here knows about Temporal.

export {
  exportDataset,
  resumableCheckpoint,
  type ExportFormats,
  type ExportOptions,
  type ExportResult,
  type ExportSample,
} from './export-dataset.js';
export {
  exportCheckpointFormat,
  usableCheckpoint,
  type ExportCheckpoint,
  type ExportLayout,
} from './export-checkpoint.js';
export {
  deleteUnreferencedVersions,
  exportPointerFormat,
  readExportPointer,
  versionPattern,
  type ExportPointer,
} from './export-pointer.js';
export { assertSampleKey, compareKeys, sampleKey, sampleKeyPattern, slideKeyPrefix } from './sample-key.js';
export { tarBlockSize, tarEnd, tarFileEntry, tarFileHeader, tarPadding, type TarEntryOptions } from './tar-writer.js';
export { shardName, shardPattern, WebDatasetShardWriter, type ShardFiles } from './webdataset-shards.js';
export { openClipCsvHeader, openClipCsvLine, pathgenJsonRecord, type PathgenJsonRecord } from './text-formats.js';
export {
  countWords,
  DatasetStatistics,
  unknownProject,
  type DatasetStatisticsState,
  type DatasetStatisticsSummary,
  type LengthSummary,
  type ProjectCount,
  type TokenSummary,
} from './dataset-statistics.js';
export {
  datasetCardJson,
  datasetCardMarkdown,
  type DatasetCardFiles,
  type DatasetCardInput,
  type DatasetCardJson,
  type DatasetReviewCounts,
} from './dataset-card.js';
export { forEachBounded, StoreUpload } from './store-upload.js';
export { csvPartKey, pathgenPartKey, versionFiles, type VersionFiles } from './text-parts.js';
