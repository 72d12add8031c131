import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

// A vocabulary small enough to reason about by hand, in open_clip's file format: a header line,
// then one merge per line. open_clip numbers the vocabulary
//   0–255    the byte characters: printable bytes in byte order (`!` = 0 … `~` = 93, `¡`…`¬` = 94–105,
//            `®`…`ÿ` = 106–187), then the other 68 bytes in byte order (0x00–0x20 = 188–220,
//            0x7f–0xa0 = 221–254, 0xad = 255)
//   256–511  the same characters with `</w>` (end of word)
//   512+r    the result of merge r (its line number after the header, from 0)
//   then `<start_of_text>`, `<end_of_text>`
// So an ASCII character c is id ord(c) − 33, and ord(c) + 223 at the end of a word.
export const tinyMerges = [
  't h', //        512 th
  'th e</w>', //   513 the</w>
  'c e', //        514 ce
  'l l</w>', //    515 ll</w>
  'ce ll</w>', //  516 cell</w>
  'l l', //        517 ll
  'ce ll', //      518 cell
  'cell s</w>', // 519 cells</w>
  't u', //        520 tu
  'm o', //        521 mo
  'tu mo', //      522 tumo
  'tumo r</w>', // 523 tumor</w>
  "' s</w>", //    524 's</w>
  'i s</w>', //    525 is</w>
  '1 2</w>', //    526 12</w>: never used, digits are pre-tokenised one by one
  '. .</w>', //    527 ..</w>
  '. ..</w>', //   528 ...</w>
] as const;

export const tiny = {
  start: 529,
  end: 530,
  size: 531,
  the: 513,
  cell: 516,
  cells: 519,
  tumo: 522,
  tumor: 523,
  apostropheS: 524,
  is: 525,
  ellipsis: 528,
} as const;

/** Id of ASCII character `c` inside a word, and at its end. */
export const ascii = (c: string): number => c.charCodeAt(0) - 33;
export const asciiEnd = (c: string): number => c.charCodeAt(0) + 223;

/** The file as open_clip's loader expects it; `trailingNewline` as most editors would save it. */
export async function writeTinyBpeFile(dir: string, name = 'tiny.txt.gz', trailingNewline = false): Promise<string> {
  const path = join(dir, name);
  const text = ['"bpe_simple_vocab_16e6.txt#version: 0.2', ...tinyMerges].join('\n') + (trailingNewline ? '\n' : '');
  await writeFile(path, gzipSync(Buffer.from(text, 'utf8')));
  return path;
}

/** The same vocabulary as a Hugging Face `tokenizer.json`, with CLIP's own special-token names. */
export function tinyHuggingFaceJson(mergeStyle: 'strings' | 'pairs' = 'strings'): Record<string, unknown> {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const bytes = Array.from({ length: 256 }, (_, b) => b);
  let next = 256;
  const charOf = new Map(bytes.map((b) => [b, String.fromCharCode(printable(b) ? b : next++)]));
  const alphabet = [...bytes.filter(printable), ...bytes.filter((b) => !printable(b))].map((b) => charOf.get(b) ?? '');
  const tokens = [
    ...alphabet,
    ...alphabet.map((c) => `${c}</w>`),
    ...tinyMerges.map((m) => m.replace(' ', '')),
    '<|startoftext|>',
    '<|endoftext|>',
  ];
  return {
    version: '1.0',
    added_tokens: [
      { id: tiny.start, content: '<|startoftext|>', special: true },
      { id: tiny.end, content: '<|endoftext|>', special: true },
    ],
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['<|endoftext|>', tiny.end],
      cls: ['<|startoftext|>', tiny.start],
    },
    model: {
      type: 'BPE',
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges: mergeStyle === 'strings' ? [...tinyMerges] : tinyMerges.map((m) => m.split(' ')),
    },
  };
}
