import { sentenceWords, splitSentences } from './sentences.js';

// What the revise agent changed, sentence by sentence: the longest common subsequence of the two
// sentence lists is "kept"; what is left on either side is deleted or added, and a deleted sentence
// that shares most of its words with an added one is reported as modified instead.

export interface SentenceEdits {
  added: string[];
  deleted: string[];
  modified: { from: string; to: string }[];
  /** Why a sentence was deleted, where the reviser can say (the built-in one always can). */
  reasons?: { sentence: string; reason: string }[];
}

/** Dice coefficient of the two sentences' word sets at or above which a delete + add is a modification. */
export const modifiedSimilarity = 0.5;

export function diffSentences(before: string, after: string): SentenceEdits {
  const a = splitSentences(before);
  const b = splitSentences(after);
  const keyA = a.map(normalise);
  const keyB = b.map(normalise);
  const kept = longestCommonSubsequence(keyA, keyB);
  // A sentence that only moved is left out: it was neither added, deleted nor changed.
  const moved = new Set(
    keyA.filter((key, i) => !kept.a.has(i) && keyB.some((other, j) => !kept.b.has(j) && other === key)),
  );
  const deleted = a.filter((_, i) => !kept.a.has(i) && !moved.has(keyA[i] as string));
  const added = b.filter((_, j) => !kept.b.has(j) && !moved.has(keyB[j] as string));
  return pairModifications(deleted, added);
}

export function isUnchanged(edits: SentenceEdits): boolean {
  return edits.added.length === 0 && edits.deleted.length === 0 && edits.modified.length === 0;
}

function normalise(sentence: string): string {
  return sentenceWords(sentence).join(' ');
}

function longestCommonSubsequence(a: readonly string[], b: readonly string[]): { a: Set<number>; b: Set<number> } {
  const width = b.length + 1;
  const table = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i * width + j] =
        a[i] === b[j]
          ? (table[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(table[(i + 1) * width + j] ?? 0, table[i * width + j + 1] ?? 0);
    }
  }
  const keptA = new Set<number>();
  const keptB = new Set<number>();
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      keptA.add(i++);
      keptB.add(j++);
    } else if ((table[(i + 1) * width + j] ?? 0) >= (table[i * width + j + 1] ?? 0)) {
      i++;
    } else {
      j++;
    }
  }
  return { a: keptA, b: keptB };
}

/** Most similar pairs first, each sentence used once; the order of the text is kept in the lists. */
function pairModifications(deleted: readonly string[], added: readonly string[]): SentenceEdits {
  const words = (s: string) => new Set(sentenceWords(s));
  const deletedWords = deleted.map(words);
  const addedWords = added.map(words);
  const pairs: { i: number; j: number; score: number }[] = [];
  deletedWords.forEach((from, i) => {
    addedWords.forEach((to, j) => {
      const score = dice(from, to);
      if (score >= modifiedSimilarity) pairs.push({ i, j, score });
    });
  });
  pairs.sort((x, y) => y.score - x.score || x.i - y.i || x.j - y.j);
  const usedI = new Set<number>();
  const usedJ = new Set<number>();
  const matched: { i: number; j: number }[] = [];
  for (const pair of pairs) {
    if (usedI.has(pair.i) || usedJ.has(pair.j)) continue;
    usedI.add(pair.i);
    usedJ.add(pair.j);
    matched.push(pair);
  }
  matched.sort((x, y) => x.i - y.i);
  return {
    added: added.filter((_, j) => !usedJ.has(j)),
    deleted: deleted.filter((_, i) => !usedI.has(i)),
    modified: matched.map(({ i, j }) => ({ from: deleted[i] as string, to: added[j] as string })),
  };
}

function dice(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const word of a) if (b.has(word)) shared++;
  return (2 * shared) / (a.size + b.size);
}
