import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { PathgenError } from '../common/errors.js';
import { byteAlphabet, isByteCharacter } from './byte-level.js';
import { endOfWord, pairKey } from './byte-pair-encoder.js';
import { pythonSpace } from './text-cleaning.js';

/** Everything the tokenizer needs from a vocabulary file. */
export interface ClipVocabulary {
  /** Token (a string of byte characters, or a special token) → id. */
  readonly encoder: ReadonlyMap<string, number>;
  /** `pairKey(first, second)` → merge rank; lower merges first. */
  readonly ranks: ReadonlyMap<string, number>;
  readonly startToken: string;
  readonly endToken: string;
}

/**
 * `TokenizerInvalid`: the vocabulary file is unreadable or not a CLIP BPE vocabulary.
 * `TokenIdUnknown`: `decode` got an id the vocabulary lacks. `ContextLengthInvalid`: not a positive integer.
 */
export type TokenizerErrorCode = 'TokenizerInvalid' | 'TokenIdUnknown' | 'ContextLengthInvalid';

export function tokenizerInvalid(
  source: string,
  reason: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): PathgenError<TokenizerErrorCode> {
  return new PathgenError<TokenizerErrorCode>(
    'TokenizerInvalid',
    `invalid CLIP tokenizer vocabulary ${source}: ${reason}`,
    { source, reason, ...details },
    cause === undefined ? undefined : { cause },
  );
}

/** open_clip reads lines[1 : 49152 - 256 - 2 + 1] of its merges file: 48,894 merges after a header. */
export const openClipMergeCount = 49152 - 256 - 2;
const openClipSpecials = { start: '<start_of_text>', end: '<end_of_text>' } as const;

// Python's `str.split()` with no argument, which is how open_clip cuts a merge line in two.
const pythonSplit = new RegExp(`[${pythonSpace}]+`, 'u');

/** A symbol a merge may name: byte characters, the right-hand one possibly ending the word. */
function isSymbol(symbol: string, mayEndWord: boolean): boolean {
  const body = mayEndWord && symbol.endsWith(endOfWord) ? symbol.slice(0, -endOfWord.length) : symbol;
  return body.length > 0 && Array.from(body).every(isByteCharacter);
}

/**
 * The vocabulary open_clip's `SimpleTokenizer` builds from merge lines ("first second"): the 256 byte
 * characters, the same with `</w>`, one token per merge, then `<start_of_text>` and `<end_of_text>`.
 * Like open_clip, a blank line still takes an id (a file shorter than open_clip's slice ends in one),
 * so ids match open_clip's for any file; a line that is not two symbols is rejected.
 */
export function vocabularyFromMerges(lines: readonly string[], source = 'merges'): ClipVocabulary {
  const tokens: string[] = [...byteAlphabet, ...byteAlphabet.map((char) => char + endOfWord)];
  const ranks = new Map<string, number>();
  lines.forEach((line, rank) => {
    const parts = line.split(pythonSplit).filter((part) => part !== '');
    if (parts.length === 0) {
      tokens.push('');
      return;
    }
    const [first = '', second = ''] = parts;
    if (parts.length !== 2 || !isSymbol(first, false) || !isSymbol(second, true)) {
      throw tokenizerInvalid(source, `merge ${rank + 1} is not two byte-level symbols`, {
        merge: rank + 1,
        line: line.slice(0, 200),
      });
    }
    ranks.set(pairKey(first, second), rank);
    tokens.push(first + second);
  });
  if (ranks.size === 0) throw tokenizerInvalid(source, 'no merges');
  tokens.push(openClipSpecials.start, openClipSpecials.end);
  // Python's dict(zip(vocab, ids)): a token listed twice keeps its last id.
  const encoder = new Map<string, number>();
  tokens.forEach((token, id) => encoder.set(token, id));
  return { encoder, ranks, startToken: openClipSpecials.start, endToken: openClipSpecials.end };
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw tokenizerInvalid(path, `cannot read file (${code})`, { code }, error);
  }
}

function decodeUtf8(path: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw tokenizerInvalid(path, 'not UTF-8 text', {}, error);
  }
}

/** open_clip's `bpe_simple_vocab_16e6.txt.gz` (or any gzip file in its format). */
export async function readBpeVocabulary(path: string): Promise<ClipVocabulary> {
  let text: Buffer;
  try {
    text = await promisify(gunzip)(await readBytes(path));
  } catch (error) {
    if (error instanceof PathgenError) throw error;
    throw tokenizerInvalid(path, 'not a gzip file', {}, error);
  }
  const lines = decodeUtf8(path, text).split('\n');
  return vocabularyFromMerges(lines.slice(1, openClipMergeCount + 1), path);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A merge as tokenizers writes it: "first second", or ["first", "second"] since tokenizers 0.20. */
function mergePair(merge: unknown): readonly [string, string] | undefined {
  const parts = typeof merge === 'string' ? merge.split(' ') : merge;
  if (!Array.isArray(parts) || parts.length !== 2) return undefined;
  const [first, second] = parts as unknown[];
  return typeof first === 'string' && typeof second === 'string' ? [first, second] : undefined;
}

// Where a tokenizer.json names its start and end tokens: CLIP's RobertaProcessing (`cls`, `sep`),
// otherwise the names CLIP and open_clip use.
function specialTokens(json: Record<string, unknown>, encoder: ReadonlyMap<string, number>) {
  const processor = isRecord(json.post_processor) ? json.post_processor : {};
  const named = (value: unknown) => (Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined);
  const start = [named(processor.cls), '<|startoftext|>', openClipSpecials.start].find((t) => t && encoder.has(t));
  const end = [named(processor.sep), '<|endoftext|>', openClipSpecials.end].find((t) => t && encoder.has(t));
  return start && end ? { start, end } : undefined;
}

/**
 * A Hugging Face `tokenizer.json` of a CLIP tokenizer: ids come from `model.vocab` (plus
 * `added_tokens`), merge ranks from the order of `model.merges`. Only the vocabulary is taken; text
 * clean-up and pre-tokenisation stay open_clip's, so the ids are the ones open_clip would produce.
 */
export async function readHuggingFaceVocabulary(path: string): Promise<ClipVocabulary> {
  let json: unknown;
  try {
    json = JSON.parse(decodeUtf8(path, await readBytes(path)));
  } catch (error) {
    if (error instanceof PathgenError) throw error;
    throw tokenizerInvalid(path, 'not JSON', {}, error);
  }
  const model = isRecord(json) && isRecord(json.model) ? json.model : undefined;
  if (!isRecord(json) || !model || (model.type !== undefined && model.type !== 'BPE')) {
    throw tokenizerInvalid(path, 'no BPE model (expected model.type "BPE" with vocab and merges)');
  }
  if (model.end_of_word_suffix !== undefined && model.end_of_word_suffix !== endOfWord) {
    throw tokenizerInvalid(path, `end_of_word_suffix is not "${endOfWord}"`, { suffix: model.end_of_word_suffix });
  }
  if (!isRecord(model.vocab) || !Array.isArray(model.merges)) {
    throw tokenizerInvalid(path, 'model.vocab must be an object and model.merges an array');
  }

  const encoder = new Map<string, number>();
  const addToken = (token: string, id: unknown) => {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw tokenizerInvalid(path, `token ${JSON.stringify(token)} has no valid id`, { token });
    }
    encoder.set(token, id);
  };
  for (const [token, id] of Object.entries(model.vocab)) addToken(token, id);
  for (const added of Array.isArray(json.added_tokens) ? json.added_tokens : []) {
    if (isRecord(added) && typeof added.content === 'string') addToken(added.content, added.id);
  }

  const ranks = new Map<string, number>();
  model.merges.forEach((merge: unknown, rank) => {
    const pair = mergePair(merge);
    if (!pair || !encoder.has(pair[0] + pair[1])) {
      throw tokenizerInvalid(path, `merge ${rank + 1} is not a pair whose result is in the vocabulary`, {
        merge: rank + 1,
      });
    }
    ranks.set(pairKey(...pair), rank);
  });
  const missing = byteAlphabet.find((char) => !encoder.has(char) || !encoder.has(char + endOfWord));
  if (missing !== undefined) {
    throw tokenizerInvalid(path, 'the vocabulary lacks a byte-level symbol', { symbol: missing });
  }
  const specials = specialTokens(json, encoder);
  if (!specials) throw tokenizerInvalid(path, 'no start or end token (<|startoftext|>, <|endoftext|>)');
  return { encoder, ranks, startToken: specials.start, endToken: specials.end };
}
