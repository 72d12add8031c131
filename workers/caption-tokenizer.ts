import { existsSync } from 'node:fs';
import path from 'node:path';
import { ClipTokenizer } from '../activities/clip/clip-tokenizer.js';
import { PathgenError } from '../activities/common/errors.js';
import type { PathgenConfig } from './config/schema.js';
import { packageRoot } from './package-info.js';

// Captions must fit CLIP's text context as CLIP counts it, so the summarize budget is measured with
// the real BPE vocabulary: the configured file, else the copy infra/install-tools.sh fetched from
// the open_clip wheel. There is no approximate fallback: a wrong count means truncated training text.

export const installedClipVocabulary = path.join(packageRoot, '.tools', 'clip', 'bpe_simple_vocab_16e6.txt.gz');

const loaded = new Map<string, Promise<ClipTokenizer>>();

export function captionVocabularyPath(config: Pick<PathgenConfig, 'clipVocabulary'>): string {
  const file = config.clipVocabulary ?? installedClipVocabulary;
  if (!existsSync(file)) {
    throw new PathgenError(
      'AgentMisconfigured',
      config.clipVocabulary
        ? `clipVocabulary ${file} does not exist`
        : `CLIP's BPE vocabulary is not installed (${file}): run infra/install-tools.sh, or set clipVocabulary`,
      { file },
    );
  }
  return file;
}

/** One tokenizer per vocabulary file per process. */
export function captionTokenizer(config: Pick<PathgenConfig, 'clipVocabulary'>): Promise<ClipTokenizer> {
  const file = captionVocabularyPath(config);
  let tokenizer = loaded.get(file);
  if (!tokenizer) {
    tokenizer = file.endsWith('.json') ? ClipTokenizer.fromHuggingFaceJson(file) : ClipTokenizer.fromBpeFile(file);
    loaded.set(file, tokenizer);
    tokenizer.catch(() => loaded.delete(file));
  }
  return tokenizer;
}
