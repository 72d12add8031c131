import { splitSentences } from './sentences.js';

// Captions must fit CLIP's text context: `countTokens` counts a text the way the text encoder reads
// it, start and end token included (ClipTokenizer.countTokens). It is injected so the budget is
// always measured with the tokenizer the captions will be trained with.

export type CountTokens = (text: string) => number;

/** How a caption came to fit: as answered, after the stricter retry, or cut here. */
export type Shortening = 'none' | 'retry' | 'extractive';

/**
 * Whole sentences, in their original order, that fit: sentences `first` picks (the one naming the
 * organ) are offered first, then the rest in order; a sentence too long for what is left is
 * skipped and a later, shorter one may still go in (the hedged diagnosis often comes last and is
 * short). When not even one sentence fits, the first is cut at a word boundary.
 */
export function shortenToBudget(
  text: string,
  budget: number,
  countTokens: CountTokens,
  first?: (sentence: string) => boolean,
): string {
  const whole = text.trim();
  if (countTokens(whole) <= budget) return whole;
  const sentences = splitSentences(whole);
  const order = sentences.map((_, i) => i);
  if (first) order.sort((a, b) => Number(first(sentences[b] ?? '')) - Number(first(sentences[a] ?? '')) || a - b);
  const kept = new Set<number>();
  const render = (indices: ReadonlySet<number>) => sentences.filter((_, i) => indices.has(i)).join(' ');
  for (const index of order) {
    const candidate = new Set(kept).add(index);
    if (countTokens(render(candidate)) <= budget) kept.add(index);
  }
  if (kept.size > 0) return render(kept);
  return cutAtWord(sentences[0] ?? whole, budget, countTokens);
}

// A cut caption should not end "…consistent with." or "…of the.".
const danglingWord =
  /(?:[\s,;:.!?-]+|\s(?:a|an|the|and|or|but|of|in|on|at|to|with|without|by|for|from|into|within|consistent|suggestive|likely|possibly|probably|is|are|which|that|as))+$/i;

/** The longest run of leading words that fits, ended with a period; empty if not even one word fits. */
function cutAtWord(sentence: string, budget: number, countTokens: CountTokens): string {
  const words = sentence.split(/\s+/).filter((w) => w !== '');
  const render = (n: number) => {
    const text = words.slice(0, n).join(' ').replace(danglingWord, '');
    return text === '' ? '' : `${text}.`;
  };
  let low = 0;
  let high = words.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (countTokens(render(mid)) <= budget) low = mid;
    else high = mid - 1;
  }
  return render(low);
}

/** The word limit a prompt asks for: CLIP's BPE averages a little over one token per English word. */
export function wordsForBudget(budget: number, strict = false): number {
  return Math.max(5, Math.floor((budget - 2) * (strict ? 0.45 : 0.6)));
}
