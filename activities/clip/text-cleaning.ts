import { ftfyUnescapeHtml, pythonHtmlUnescape, windows1252ForC1 } from './html-unescape.js';

// open_clip's default ('lower') clean-up, run before every encode:
//   whitespace_clean(basic_clean(text)).lower()
//   basic_clean = ftfy.fix_text, then html.unescape twice, then strip()
//   whitespace_clean = ' '.join(text.split()).strip()
// A different clean-up gives different ids for the same caption, so each step keeps Python's
// semantics, down to which characters Python calls whitespace.

/** Python's `str.isspace()` characters: what `split()` and `strip()` cut on (wider than JS `\s`). */
export const pythonSpace =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const spaceRuns = new RegExp(`[${pythonSpace}]+`, 'gu');
const edgeSpace = new RegExp(`^[${pythonSpace}]+|[${pythonSpace}]+$`, 'gu');

// ftfy's character fixes that ordinary text meets: curly quotes (LLM output is full of `’`, and
// `’s` only splits as a contraction once straightened), Latin ligatures and full-width forms from
// PDF copy-paste, C1 controls that are really Windows-1252, stray control characters and terminal
// escapes. ftfy's mojibake repair (`fix_encoding`, a statistical guess over code pages) is left
// out: it only acts on text that already looks broken, such as `sÃ³` for `só`.
const latinLigatures: Readonly<Record<string, string>> = {
  '\u0132': 'IJ',
  '\u0133': 'ij',
  '\u0149': '\u02bcn',
  '\u01f1': 'DZ',
  '\u01f2': 'Dz',
  '\u01f3': 'dz',
  '\u01c4': 'D\u017d',
  '\u01c5': 'D\u017e',
  '\u01c6': 'd\u017e',
  '\u01c7': 'LJ',
  '\u01c8': 'Lj',
  '\u01c9': 'lj',
  '\u01ca': 'NJ',
  '\u01cb': 'Nj',
  '\u01cc': 'nj',
  '\ufb00': 'ff',
  '\ufb01': 'fi',
  '\ufb02': 'fl',
  '\ufb03': 'ffi',
  '\ufb04': 'ffl',
  '\ufb05': '\u017ft',
  '\ufb06': 'st',
};
const ligature = new RegExp(`[${Object.keys(latinLigatures).join('')}]`, 'gu');

// ftfy maps U+FF01–U+FFEF to their NFKC form where it differs, and U+3000 to a plain space.
const fullWidth = /[\u3000\uff01-\uffef]/gu;
function narrow(char: string): string {
  return char === '\u3000' ? ' ' : char.normalize('NFKC');
}

const c1Control = /[\x80-\x9f]/gu;
const singleCurlyQuote = /[\u02bc\u2018-\u201b]/gu;
const doubleCurlyQuote = /[\u201c-\u201f]/gu;
const lineBreak = /\r\n|[\r\u2028\u2029\x85]/gu;
// Python's `\d` matches any decimal digit, not only ASCII ones.
// eslint-disable-next-line no-control-regex -- an escape sequence starts with ESC
const terminalEscape = /\x1b\[[\p{Nd};]*[a-zA-Z]/gu;
// eslint-disable-next-line no-control-regex -- removing control characters is the point
const controlChar = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/gu;
// Without the `u` flag, to see surrogate halves one at a time.
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function fixSegmentOnce(text: string, unescapeHtml: boolean): string {
  let out = unescapeHtml ? ftfyUnescapeHtml(text) : text;
  out = out.replace(c1Control, (char) => windows1252ForC1(char.codePointAt(0) ?? 0));
  out = out.replace(ligature, (char) => latinLigatures[char] ?? char);
  out = out.replace(fullWidth, narrow);
  out = out.replace(doubleCurlyQuote, '"').replace(singleCurlyQuote, "'");
  out = out.replace(lineBreak, '\n');
  out = out.replace(loneSurrogate, '\ufffd');
  out = out.replace(terminalEscape, '');
  out = out.replace(controlChar, '');
  return out.normalize('NFC');
}

/**
 * ftfy's `fix_text` without mojibake repair. Like ftfy it works line by line, repeats the fixes
 * until the line stops changing, and stops decoding HTML for good at the first line that holds a
 * `<` (such text is probably markup, where `&lt;` must stay). ftfy also cuts lines longer than a
 * million characters; captions never come close, so that cut is not reproduced.
 */
export function fixText(text: string): string {
  let unescapeHtml = true;
  let out = '';
  for (const line of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    if (line.includes('<')) unescapeHtml = false;
    let fixed = line;
    // ftfy loops until a fixed point; the bound only guards against a cycle ftfy would hang on.
    for (let round = 0; round < 100; round += 1) {
      const next = fixSegmentOnce(fixed, unescapeHtml);
      if (next === fixed) break;
      fixed = next;
    }
    out += fixed;
  }
  return out;
}

/** Python's `str.strip()` with no argument. */
export function pythonStrip(text: string): string {
  return text.replace(edgeSpace, '');
}

/** open_clip's `whitespace_clean`: every run of Python whitespace becomes one space. */
export function foldWhitespace(text: string): string {
  return pythonStrip(text.replace(spaceRuns, ' '));
}

/** open_clip's default text clean-up (`clean='lower'`), the input of pre-tokenisation. */
export function cleanText(text: string): string {
  const basic = pythonStrip(pythonHtmlUnescape(pythonHtmlUnescape(fixText(text))));
  return foldWhitespace(basic).toLowerCase();
}
