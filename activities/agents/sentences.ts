// Splitting prose into sentences. Descriptions and reports are full of periods that end nothing:
// abbreviations ("e.g.", "approx.", "et al."), decimals ("2.5 mm"), initials and list markers
// ("A.", "1."). A period ends a sentence only when whitespace follows, the next word does not start
// in lower case, and the word before it is not one of those.

const abbreviations = new Set([
  'e.g',
  'i.e',
  'eg',
  'ie',
  'approx',
  'appr',
  'vs',
  'cf',
  'ca',
  'incl',
  'esp',
  'resp',
  'dr',
  'mr',
  'mrs',
  'ms',
  'prof',
  'st',
  'fig',
  'figs',
  'no',
  'nos',
  'al',
  'min',
  'max',
  'vol',
  'ref',
  'sp',
  'spp',
  'dept',
  'hpf',
]);

const listMarker = /^\s*(?:[-*•]\s*)?(?:\d{1,3}|[A-Za-z]|[ivxIVX]{1,4})[.)]$/;

export function splitSentences(text: string): string[] {
  return paragraphs(text).flatMap(splitLine);
}

/** A hard-wrapped line continues the sentence; a blank line, a list item or ended punctuation does not. */
function paragraphs(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw.trim();
    const startsItem = /^(?:[-*•]|\d{1,3}[.)]|[A-Za-z][.)])\s/.test(line);
    if (line === '' || startsItem || /[.!?:;]["')\]]*$/.test(current)) {
      if (current) out.push(current);
      current = line;
    } else {
      current = current ? `${current} ${line}` : line;
    }
  }
  if (current) out.push(current);
  return out;
}

function splitLine(line: string): string[] {
  const sentences: string[] = [];
  let start = 0;
  for (const match of line.matchAll(/[.!?]+["')\]]*(?=\s|$)/g)) {
    const end = match.index + match[0].length;
    const candidate = line.slice(start, end).trim();
    const rest = line.slice(end).trimStart();
    if (rest !== '' && !endsSentence(candidate, match[0], rest)) continue;
    if (candidate) sentences.push(candidate);
    start = end;
  }
  const tail = line.slice(start).trim();
  if (tail) sentences.push(tail);
  return sentences;
}

function endsSentence(candidate: string, punctuation: string, rest: string): boolean {
  if (listMarker.test(candidate)) return false;
  if (!punctuation.startsWith('.')) return true;
  if (/^[a-z]/.test(rest)) return false;
  const word = /(\S+)\.+["')\]]*$/.exec(candidate)?.[1]?.replace(/^["'([]+/, '') ?? '';
  if (abbreviations.has(word.toLowerCase())) return false;
  // A single capital letter is an initial ("J. Smith") or a part label ("A. Left breast").
  return !/^[A-Z]$/.test(word);
}

/** The words of a sentence, lower-cased, for comparing sentences regardless of case and punctuation. */
export function sentenceWords(sentence: string): string[] {
  return sentence.toLowerCase().match(/[\p{L}\p{N}]+(?:[.'-][\p{L}\p{N}]+)*/gu) ?? [];
}
