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
