import { describe, expect, it } from 'vitest';
import { pythonHtmlUnescape } from '../../activities/clip/html-unescape.js';
import { cleanText, fixText, foldWhitespace } from '../../activities/clip/text-cleaning.js';

// Expected values are what CPython 3.11's html.unescape and ftfy 6.3.1's fix_text return for the
// same input (printed with json.dumps), so a change of ours that drifts from them shows up here.

describe("Python's html.unescape", () => {
  it.each([
    ['&amp;', '&'],
    ['&amp', '&'], // legacy names need no semicolon …
    ['&ampx', '&x'], // … and match as a prefix
    ['&AMP', '&'],
    ['&notit;', '\u00acit;'], // longest legacy prefix: "not"
    ['&notin;', '\u2209'],
    ['&Eacute', '\u00c9'],
    ['&hellip;', '\u2026'],
    ['&NewLine;', '\n'],
    ['&frac12x', '\u00bdx'],
    ['&thetasym;', '\u03d1'],
    ['&#65;', 'A'],
    ['&#X41', 'A'],
    ['&#0;', '\ufffd'],
    ['&#13;', '\r'],
    ['&#150;', '\u2013'], // C1 references read as Windows-1252
    ['&#1;', ''], // forbidden code points vanish
    ['&#xfffe;', ''],
    ['&#x110000;', '\ufffd'],
    ['&#xd800;', '\ufffd'],
    ['&#99999999999999999999;', '\ufffd'],
    ['&a;', '&a;'],
    ['& amp;', '& amp;'],
    ['&#x;', '&#x;'],
  ])('%j → %j', (input, expected) => {
    expect(pythonHtmlUnescape(input)).toBe(expected);
  });
});

describe("ftfy's fix_text (without mojibake repair)", () => {
  it.each([
    ['&EACUTE;cole', '\u00c9cole'], // all-caps spelling of a lower-case name
    ['&SZLIG;', 'SS'],
    ['&LT;', '<'],
    ['this&not that', 'this&not that'], // no semicolon: ftfy leaves it
    ['&#x2019;', "'"], // decoded, then uncurled
    ['&#x2019', '&#x2019'],
    ['&amp;amp;amp;', '&'], // repeated until nothing changes
    ['a < &amp;amp;', 'a < &amp;amp;'], // a line with "<" is not HTML-decoded …
    ['a &amp;amp;\n< &amp;amp;\n&amp;amp;', 'a &\n< &amp;amp;\n&amp;amp;'], // … nor any line after it
    ['\u201cquoted\u201d \u2018single\u2019 \u02bc', "\"quoted\" 'single' '"],
    ['\ufb01\ufb02\ufb03 \u0132', 'fiflffi IJ'],
    ['\uff21\uff42\uff43\u3000\uff11\uff12 \uff64', 'Abc 12 \u3001'],
    ['a\x00b\x07c\x7fd\ufeffe\u206af\ufffcg', 'abcdefg'],
    ['\x1b[1;31mred\x1b[0m', 'red'],
    ['x\x80y\x85z\x81', 'x\u20acy\u2026z\x81'],
    ['e\u0301', '\u00e9'],
    ['line\r\nnext\rmore\u2028x\u2029y', 'line\nnext\nmore\nx\ny'],
  ])('%j → %j', (input, expected) => {
    expect(fixText(input)).toBe(expected);
  });
});

describe("open_clip's clean-up", () => {
  it("folds every run of Python whitespace, wider than JavaScript's \\s", () => {
    expect(foldWhitespace(' a\u001cb\u0085c \u3000 d\ufeff ')).toBe('a b c d\ufeff');
  });

  it('unescapes, folds and lower-cases', () => {
    expect(cleanText('  An H&amp;E   IMAGE\nof the Tumor\u2019s margins&nbsp; ')).toBe(
      "an h&e image of the tumor's margins",
    );
    // Without a "<" in the line ftfy decodes to the end; with one, only open_clip's two rounds run.
    expect(cleanText('&amp;amp;lt;')).toBe('<');
    expect(cleanText('< &amp;amp;amp;')).toBe('< &amp;');
  });
});
