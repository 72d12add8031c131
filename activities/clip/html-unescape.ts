import { legacyNames, namedReferences } from './html-entities.js';

// open_clip decodes HTML character references three ways before tokenising: ftfy's cautious
// decoder (semicolon-terminated references only, repeated until nothing changes), then Python's
// `html.unescape` twice. Captions scraped from reports carry `&amp;`, `&#x2019;` and the like, and each
// decoder's corner cases change token ids, so both are reproduced rule for rule.

let named: Map<string, string> | undefined;
let legacy: Set<string> | undefined;

/** Entity name (without `;`) → replacement text. */
function namedTable(): Map<string, string> {
  if (!named) {
    named = new Map();
    for (const entry of namedReferences.split(/\s+/)) {
      if (entry === '') continue;
      const [name = '', codes = ''] = entry.split('=');
      named.set(name, String.fromCodePoint(...codes.split('.').map((hex) => parseInt(hex, 16))));
    }
  }
  return named;
}

function legacySet(): Set<string> {
  legacy ??= new Set(legacyNames.split(/\s+/).filter((name) => name !== ''));
  return legacy;
}

// Windows-1252 readings of C1 code points, as HTML5 (and Python) decode `&#128;`…`&#159;`; the five
// bytes Windows-1252 leaves undefined stand for themselves. ftfy's `fix_c1_controls` uses the same map.
const windows1252C1 = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

export function windows1252ForC1(codePoint: number): string {
  return String.fromCodePoint(windows1252C1[codePoint - 0x80] ?? codePoint);
}

// Code points a numeric reference may not produce; Python drops the reference entirely.
function droppedCodePoint(cp: number): boolean {
  return (
    (cp >= 0x1 && cp <= 0x8) ||
    cp === 0xb ||
    (cp >= 0xe && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe
  );
}

function numericReference(digits: string, hex: boolean): string {
  const cp = parseInt(digits, hex ? 16 : 10);
  if (cp === 0) return '\ufffd';
  if (cp === 0x0d) return '\r';
  if (cp >= 0x80 && cp <= 0x9f) return windows1252ForC1(cp);
  if ((cp >= 0xd800 && cp <= 0xdfff) || !(cp <= 0x10ffff)) return '\ufffd';
  if (droppedCodePoint(cp)) return '';
  return String.fromCodePoint(cp);
}

// Python's `html._charref`: a name runs up to 32 characters and stops at whitespace, `<`, `&`, `#`, `;`.
const pythonCharRef = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function replacePythonCharRef(reference: string): string {
  if (reference.startsWith('#')) {
    const hex = reference[1] === 'x' || reference[1] === 'X';
    return numericReference(reference.slice(hex ? 2 : 1).replace(/;$/, ''), hex);
  }
  if (reference.endsWith(';')) {
    const value = namedTable().get(reference.slice(0, -1));
    if (value !== undefined) return value;
  } else if (legacySet().has(reference)) {
    return namedTable().get(reference) ?? '';
  }
  // HTML's longest-prefix rule: only the legacy names can match without their semicolon. Python
  // slices by code point and never tries a one-character prefix.
  const chars = Array.from(reference);
  for (let length = chars.length - 1; length > 1; length -= 1) {
    const prefix = chars.slice(0, length).join('');
    if (legacySet().has(prefix)) return (namedTable().get(prefix) ?? '') + chars.slice(length).join('');
  }
  return `&${reference}`;
}

/** Python's `html.unescape`. */
export function pythonHtmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(pythonCharRef, (_match, reference: string) => replacePythonCharRef(reference));
}

let ftfyTable: Map<string, string> | undefined;

// ftfy decodes every semicolon-terminated HTML5 name, plus all-caps spellings of the all-lowercase
// names (`&EACUTE;` → `É`) when the caps spelling is not itself a reference Python would decode.
function ftfyEntities(): Map<string, string> {
  if (!ftfyTable) {
    ftfyTable = new Map();
    for (const [name, value] of namedTable()) {
      ftfyTable.set(`&${name};`, value);
      if (name === name.toLowerCase()) {
        const upper = `&${name.toUpperCase()};`;
        if (pythonHtmlUnescape(upper) === upper) ftfyTable.set(upper, value.toUpperCase());
      }
    }
  }
  return ftfyTable;
}

const ftfyReference = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy's `unescape_html`: leaves anything ambiguous (`this&not that`) alone. */
export function ftfyUnescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ftfyReference, (reference) => {
    const value = ftfyEntities().get(reference);
    if (value !== undefined) return value;
    if (!reference.startsWith('&#')) return reference;
    const decoded = pythonHtmlUnescape(reference);
    // A reference decoded only in part (its `;` survived) is not a reference ftfy trusts.
    return decoded.includes(';') ? reference : decoded;
  });
}
