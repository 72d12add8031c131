// The public surface of the CLIP text side: the tokenizer the select stage scores prompts with and
// the summarize agent measures captions with. Nothing here knows about Temporal.

export {
  ClipTokenizer,
  defaultContextLength,
  type ClipTokenizerOptions,
  type TokenizedTexts,
} from './clip-tokenizer.js';
export {
  readBpeVocabulary,
  readHuggingFaceVocabulary,
  vocabularyFromMerges,
  openClipMergeCount,
  type ClipVocabulary,
  type TokenizerErrorCode,
} from './clip-vocabulary.js';
export { cleanText } from './text-cleaning.js';
export {
  loadClipModel,
  normaliseRows,
  cachedClipModelCount,
  type ClipModel,
  type ClipModelOptions,
} from './clip-model.js';
export type { ExecutionProvider, OrtLogLevel } from './clip-session.js';
export {
  ClipModelConfig,
  configFileName,
  fetchClipModelDirectory,
  parseConfig,
  readClipModelDirectory,
  resolveClipModelDirectory,
  type ClipModelDirectory,
  type ClipModelSource,
  type FetchedModelDirectory,
  type ModelDirectoryErrorCode,
} from './model-directory.js';
export {
  embedInBatches,
  type BatchTiming,
  type EmbeddingPipelineOptions,
  type EmbeddingPipelineReport,
} from './embedding-pipeline.js';
