import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../activities/clip/index.js';
import { isPathgenError } from '../../activities/common/errors.js';
import {
  ascii,
  asciiEnd,
  tiny,
  tinyMerges,
  writeTinyBpeFile,
} from '../../workers/synthetic/clip-models/tiny-vocabulary.js';

// Every expected id below is derived by hand from the numbering in tiny-vocabulary.ts, following
// open_clip's SimpleTokenizer step by step; open_clip 3.3.0 run on the same file gives the same ids.

let dir: string;
let tokenizer: ClipTokenizer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-clip-'));
  tokenizer = await ClipTokenizer.fromBpeFile(await writeTinyBpeFile(dir));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rows = (batch: { ids: Int32Array; shape: readonly [number, number] }) =>
  Array.from({ length: batch.shape[0] }, (_, row) =>
    Array.from(batch.ids.subarray(row * batch.shape[1], (row + 1) * batch.shape[1])),
  );

describe('ClipTokenizer on a hand-checked vocabulary', () => {
  it('numbers the vocabulary like open_clip', () => {
    expect(tokenizer.vocabularySize).toBe(tiny.size);
    expect([tokenizer.startTokenId, tokenizer.endTokenId]).toEqual([tiny.start, tiny.end]);
  });

  it('merges by rank, with the end-of-word marker', () => {
    // c e l l s</w>: "c e" (rank 2) first, then "l l" (5), "ce ll" (6), "cell s</w>" (7).
    expect(tokenizer.encode('cells')).toEqual([tiny.cells]);
    // c e l l</w>: "c e" (2), then "l l</w>" (3), then "ce ll</w>" (4): a different path to cell</w>.
    expect(tokenizer.encode('cell')).toEqual([tiny.cell]);
    // t u m o r s</w>: tu, mo, tumo; "tumo r" is not a merge (only "tumo r</w>" is), so r and s</w> stay.
    expect(tokenizer.encode('tumors')).toEqual([tiny.tumo, ascii('r'), asciiEnd('s')]);
    // t h i s</w>: "t h" (0) then "i s</w>" (13); "th is</w>" is not a merge.
    expect(tokenizer.encode('this')).toEqual([512, tiny.is]);
  });

  it('lower-cases and folds whitespace before splitting', () => {
    expect(tokenizer.encode('  THE\t\tCELLS \n')).toEqual([tiny.the, tiny.cells]);
    // U+00A0 is whitespace to Python's str.split(), so it separates words too.
    expect(tokenizer.encode('the\u00a0cells')).toEqual([tiny.the, tiny.cells]);
  });

  it('decodes HTML references the way ftfy and html.unescape do', () => {
    // ftfy repeats its decoding until nothing changes: &amp;lt;b&gt; → &lt;b&gt; → <b>; then
    // "<" and ">" are one-character words: ord + 223.
    expect(tokenizer.encode('&amp;lt;b&gt;')).toEqual([asciiEnd('<'), asciiEnd('b'), asciiEnd('>')]);
    expect(tokenizer.encode('&amp;amp;amp;')).toEqual([asciiEnd('&')]);
    // A line holding "<" is left alone by ftfy; open_clip's two html.unescape rounds leave "&amp;".
    expect(tokenizer.encode('< &amp;amp;amp;')).toEqual([
      asciiEnd('<'),
      asciiEnd('&'),
      ascii('a'),
      ascii('m'),
      asciiEnd('p'),
      asciiEnd(';'),
    ]);
    // ftfy decodes &#x2019; to ’ and straightens it, so it becomes the "'s" contraction.
    expect(tokenizer.encode('&#x2019;s')).toEqual([tiny.apostropheS]);
  });

  it('splits punctuation runs and single digits', () => {
    // "..." is one run and merges to ...</w>; "...!" is one run that no merge covers.
    expect(tokenizer.encode('cells...')).toEqual([tiny.cells, tiny.ellipsis]);
    expect(tokenizer.encode('cells...!')).toEqual([tiny.cells, ascii('.'), ascii('.'), ascii('.'), asciiEnd('!')]);
    // Digits are words of one: "1 2</w>" (merge 14) never applies.
    expect(tokenizer.encode('12 cells')).toEqual([asciiEnd('1'), asciiEnd('2'), tiny.cells]);
  });

  it('splits English contractions off, even where that is wrong', () => {
    expect(tokenizer.encode("tumor's")).toEqual([tiny.tumor, tiny.apostropheS]);
    expect(tokenizer.encode("IT'S")).toEqual([ascii('i'), asciiEnd('t'), tiny.apostropheS]);
    expect(tokenizer.encode("don't")).toEqual([ascii('d'), ascii('o'), asciiEnd('n'), ascii("'"), asciiEnd('t')]);
    // open_clip's pattern tries "'s" before letters, so "'sam" is "'s" + "am".
    expect(tokenizer.encode("'sam")).toEqual([tiny.apostropheS, ascii('a'), asciiEnd('m')]);
    // A curly apostrophe is straightened first (ftfy's uncurl_quotes).
    expect(tokenizer.encode('The tumor\u2019s cells')).toEqual([tiny.the, tiny.tumor, tiny.apostropheS, tiny.cells]);
  });

  it('falls back to byte characters for letters without merges', () => {
    // é is a letter, so "café" is one word; its UTF-8 bytes C3 A9 are ids 106+(0xc3−0xae) and,
    // ending the word, 94+(0xa9−0xa1)+256. "CAFÉ" lower-cases to the same.
    const cafe = [ascii('c'), ascii('a'), ascii('f'), 127, 358];
    expect(tokenizer.encode('café')).toEqual(cafe);
    expect(tokenizer.encode('CAFÉ')).toEqual(cafe);
    // 中 = E4 B8 AD: 106+(0xe4−0xae), 106+(0xb8−0xae), and 0xad is the last remapped byte, 255, +256 at the end.
    expect(tokenizer.encode('中')).toEqual([160, 116, 511]);
    // 😀 is not a letter or digit: F0 9F 98 80 → 172, then remapped 0x7f–0xa0 = 221+(b−0x7f): 253, 246, 222+256.
    expect(tokenizer.encode('😀')).toEqual([172, 253, 246, 478]);
    // Full-width letters and the ﬁ ligature are normalised first (ftfy).
    expect(tokenizer.encode('the \ufb01 \uff23\uff25\uff2c\uff2c\uff33')).toEqual([
      tiny.the,
      ascii('f'),
      asciiEnd('i'),
      tiny.cells,
    ]);
  });

  it('treats special-token text as the special token, as open_clip does', () => {
    expect(tokenizer.encode('<start_of_text>the<END_OF_TEXT>')).toEqual([tiny.start, tiny.the, tiny.end]);
  });

  it('adds start and end tokens and pads with zeros', () => {
    const batch = tokenizer.tokenize(['the cells', 'tumor'], 8);
    expect(batch.shape).toEqual([2, 8]);
    expect(rows(batch)).toEqual([
      [tiny.start, tiny.the, tiny.cells, tiny.end, 0, 0, 0, 0],
      [tiny.start, tiny.tumor, tiny.end, 0, 0, 0, 0, 0],
    ]);
    expect(tokenizer.tokenize(['the']).shape).toEqual([1, 77]);
    expect(tokenizer.tokenize([]).ids).toHaveLength(0);
  });

  it('truncates to the context length keeping the end token last', () => {
    const text = 'the tumor cells is';
    expect(tokenizer.encode(text)).toEqual([tiny.the, tiny.tumor, tiny.cells, tiny.is]);
    expect(rows(tokenizer.tokenize([text], 4))).toEqual([[tiny.start, tiny.the, tiny.tumor, tiny.end]]);
    // Six tokens fit six places exactly: nothing is cut.
    expect(rows(tokenizer.tokenize([text], 6))).toEqual([
      [tiny.start, tiny.the, tiny.tumor, tiny.cells, tiny.is, tiny.end],
    ]);
    expect(rows(tokenizer.tokenize([text], 1))).toEqual([[tiny.end]]);
    expect(ClipTokenizer.fromMerges(tinyMerges, { contextLength: 5 }).tokenize([text]).shape).toEqual([1, 5]);
  });

  it('counts tokens with start and end, without truncating', () => {
    expect(tokenizer.countTokens('the tumor cells is')).toBe(6);
    expect(tokenizer.countTokens('')).toBe(2);
    expect(tokenizer.countTokens('the cells '.repeat(50))).toBe(102);
  });

  it('decodes ids back to text with a space after each word', () => {
    expect(tokenizer.decode([tiny.the, tiny.tumor, tiny.apostropheS, tiny.cells])).toBe("the tumor 's cells ");
    expect(tokenizer.decode(tokenizer.encode('café 中 😀'))).toBe('café 中 😀 ');
    expect(tokenizer.decode([tiny.start, tiny.the, tiny.end])).toBe('<start_of_text>the <end_of_text>');
    // A lone continuation byte is not UTF-8: U+FFFD, as Python's errors='replace'.
    expect(tokenizer.decode([116])).toBe('\ufffd');
  });

  it('gives the same ids from a tiny word cache as from a large one', () => {
    const small = ClipTokenizer.fromMerges(tinyMerges, { cacheSize: 1 });
    const text = 'the cells the tumor cells this tumors the';
    expect(small.encode(text)).toEqual(tokenizer.encode(text));
    expect(small.encode(text)).toEqual(tokenizer.encode(text));
  });

  it('rejects a context length that is not a positive integer', () => {
    for (const length of [0, -1, 2.5, Number.NaN]) {
      let caught: unknown;
      try {
        tokenizer.tokenize(['the'], length);
      } catch (error) {
        caught = error;
      }
      expect(isPathgenError(caught) && caught.code).toBe('ContextLengthInvalid');
    }
  });

  it('rejects an id outside the vocabulary when decoding', () => {
    expect(() => tokenizer.decode([tiny.size])).toThrow(expect.objectContaining({ code: 'TokenIdUnknown' }));
  });
});
