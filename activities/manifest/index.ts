// The public surface of run inputs: the manifest of slides (inline, JSONL or CSV; checked row by
// row; read whole or in pages with byte cursors) and the materialize-mode input (a released
// PathGen-1.6M JSON and a wsi_id → slide lookup). Nothing here knows about Temporal.

export {
  manifestFields,
  maxInlineReportChars,
  slideIdPattern,
  validateManifestRow,
  isManifestRowError,
  type ManifestField,
  type ManifestFieldError,
  type ManifestItem,
  type ManifestRow,
  type ManifestRowError,
  type ManifestRowOk,
} from './manifest-row.js';
export {
  describeSource,
  manifestSourceFromReference,
  sourceFormat,
  type FileManifestSource,
  type ManifestFormat,
  type ManifestSource,
} from './manifest-source.js';
export {
  readManifest,
  readManifestPage,
  scanManifest,
  type ManifestCursor,
  type ManifestPage,
  type ManifestPageOptions,
  type ManifestReadOptions,
  type ManifestSummary,
} from './read-manifest.js';
export { readJsonArray, type JsonArrayCursor, type JsonArrayItem } from './json-array-reader.js';
export { slideIdForWsi, validatePathgenRecord, type PathgenRecord } from './pathgen-records.js';
export { readSlideLookup, type LookupSlide, type SlideLookup } from './slide-lookup.js';
export {
  groupPathgenRecords,
  readMaterializePatches,
  readMaterializeSlidesPage,
  type MaterializeErrorReason,
  type MaterializeGroupOptions,
  type MaterializeGrouping,
  type MaterializePatch,
  type MaterializeRecordError,
  type MaterializeSlide,
} from './materialize-groups.js';
