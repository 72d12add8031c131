import { PathgenError } from '../common/errors.js';
import { fromByteCharacters, toByteCharacters } from './byte-level.js';
import { BytePairEncoder, endOfWord } from './byte-pair-encoder.js';
import { readBpeVocabulary, readHuggingFaceVocabulary, vocabularyFromMerges } from './clip-vocabulary.js';
import type { ClipVocabulary, TokenizerErrorCode } from './clip-vocabulary.js';
import { cleanText } from './text-cleaning.js';

/** CLIP's text context: every released CLIP, PathGen-CLIP included, reads 77 tokens. */
export const defaultContextLength = 77;

export interface ClipTokenizerOptions {
  /** Row length of `tokenize` when none is given; open_clip's default is 77. */
  contextLength?: number;
  /** How many distinct words keep their merged form in memory. */
  cacheSize?: number;
}

/** A batch of token rows, row-major, ready to become a model input of `shape`. */
export interface TokenizedTexts {
  readonly ids: Int32Array;
  readonly shape: readonly [rows: number, contextLength: number];
}

// A literal that matches case-insensitively the way Python's `regex` module does under IGNORECASE,
// which also folds `ſ` (U+017F) to `s` and the Kelvin sign to `k`. The `i` flag cannot be used on the
// whole pattern: JavaScript would then let U+0345 into `\p{L}`, which Python's `regex` does not.
function caseInsensitive(literal: string): string {
  const extra: Readonly<Record<string, string>> = { s: '\u017f', k: '\u212a' };
  return Array.from(literal, (char) => {
    const lower = char.toLowerCase();
    const upper = char.toUpperCase();
    if (!/^[a-z]$/.test(lower)) return char.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    return `[${lower}${upper}${extra[lower] ?? ''}]`;
  }).join('');
}

// open_clip's pre-tokeniser: special tokens, English contractions, runs of letters, single digits,
// runs of anything else; whitespace separates and is dropped. Python's `regex` module under
// IGNORECASE matches U+0345 (combining ypogegrammeni) with none of the three classes, so it is
// skipped there and excluded here. `\s` is spelled out as the `regex` module's set.
function preTokenizer(specials: readonly string[]): RegExp {
  const space = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
  const contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];
  const literals = [...specials, ...contractions].map(caseInsensitive);
  return new RegExp(`${literals.join('|')}|\\p{L}+|\\p{N}|[^${space}\\p{L}\\p{N}\\u0345]+`, 'gu');
}

/**
 * CLIP's byte-level BPE text tokenizer, giving the ids open_clip's `SimpleTokenizer` (and so
 * `open_clip.tokenize`) gives for the same vocabulary and text.
 */
export class ClipTokenizer {
  readonly startTokenId: number;
  readonly endTokenId: number;
  readonly contextLength: number;
  private readonly encoder: ReadonlyMap<string, number>;
  private readonly decoder: ReadonlyMap<number, string>;
  private readonly specials: ReadonlyMap<string, number>;
  private readonly pattern: RegExp;
  private readonly bpe: BytePairEncoder;

  constructor(vocabulary: ClipVocabulary, options: ClipTokenizerOptions = {}) {
    this.contextLength = checkedContextLength(options.contextLength ?? defaultContextLength);
    this.encoder = vocabulary.encoder;
    this.decoder = new Map(Array.from(vocabulary.encoder, ([token, id]) => [id, token]));
    const idOf = (token: string) => {
      const id = vocabulary.encoder.get(token);
      if (id === undefined)
        throw new PathgenError<TokenizerErrorCode>('TokenizerInvalid', `special token ${token} has no id`, { token });
      return id;
    };
    this.startTokenId = idOf(vocabulary.startToken);
    this.endTokenId = idOf(vocabulary.endToken);
    this.specials = new Map([
      [vocabulary.startToken, this.startTokenId],
      [vocabulary.endToken, this.endTokenId],
    ]);
    this.pattern = preTokenizer([vocabulary.startToken, vocabulary.endToken]);
    this.bpe = new BytePairEncoder(vocabulary.ranks, options.cacheSize);
  }

  /** From open_clip's `bpe_simple_vocab_16e6.txt.gz`; an unreadable or malformed file is `TokenizerInvalid`. */
  static async fromBpeFile(path: string, options?: ClipTokenizerOptions): Promise<ClipTokenizer> {
    return new ClipTokenizer(await readBpeVocabulary(path), options);
  }

  /** From a Hugging Face `tokenizer.json` of a CLIP tokenizer; a malformed file is `TokenizerInvalid`. */
  static async fromHuggingFaceJson(path: string, options?: ClipTokenizerOptions): Promise<ClipTokenizer> {
    return new ClipTokenizer(await readHuggingFaceVocabulary(path), options);
  }

  /** From merge lines as they appear in open_clip's file after its header ("first second"). */
  static fromMerges(merges: readonly string[], options?: ClipTokenizerOptions): ClipTokenizer {
    return new ClipTokenizer(vocabularyFromMerges(merges), options);
  }

  get vocabularySize(): number {
    return this.encoder.size;
  }

  /** Token ids of `text` after open_clip's clean-up, without start or end token, untruncated. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const [piece] of cleanText(text).matchAll(this.pattern)) {
      const special = this.specials.get(piece);
      if (special !== undefined) {
        ids.push(special);
        continue;
      }
      for (const symbol of this.bpe.symbols(toByteCharacters(piece))) {
        const id = this.encoder.get(symbol);
        // Every merge result is in the vocabulary by construction or by the loader's check.
        if (id === undefined)
          throw new PathgenError<TokenizerErrorCode>('TokenizerInvalid', `no id for symbol ${symbol}`, { symbol });
        ids.push(id);
      }
    }
    return ids;
  }

  /** Length of `text` as CLIP reads it, start and end token included and nothing cut off. */
  countTokens(text: string): number {
    return this.encode(text).length + 2;
  }

  /**
   * open_clip's `tokenize`: start token, ids, end token, cut to `contextLength` with the end token
   * kept as the last one, zero-padded. Zero is also the id of `!`, as in open_clip.
   */
  tokenize(texts: readonly string[], contextLength = this.contextLength): TokenizedTexts {
    const length = checkedContextLength(contextLength);
    const ids = new Int32Array(texts.length * length);
    texts.forEach((text, row) => {
      const tokens = [this.startTokenId, ...this.encode(text), this.endTokenId];
      if (tokens.length > length) {
        tokens.length = length;
        tokens[length - 1] = this.endTokenId;
      }
      ids.set(tokens, row * length);
    });
    return { ids, shape: [texts.length, length] };
  }

  /** open_clip's `decode`: every `</w>` becomes a space; bytes that are not UTF-8 become U+FFFD. */
  decode(ids: Iterable<number>): string {
    let chars = '';
    for (const id of ids) {
      const token = this.decoder.get(id);
      if (token === undefined)
        throw new PathgenError<TokenizerErrorCode>('TokenIdUnknown', `token id ${id} is not in the vocabulary`, { id });
      chars += token;
    }
    const text = fromByteCharacters(chars);
    if (text === undefined)
      throw new PathgenError<TokenizerErrorCode>('TokenizerInvalid', 'a token holds a non-byte character');
    return text.replaceAll(endOfWord, ' ');
  }
}

function checkedContextLength(length: number): number {
  if (!Number.isSafeInteger(length) || length < 1) {
    throw new PathgenError<TokenizerErrorCode>(
      'ContextLengthInvalid',
      `context length must be a positive integer, got ${length}`,
      {
        contextLength: length,
      },
    );
  }
  return length;
}
