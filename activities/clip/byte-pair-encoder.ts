// The merge loop of CLIP's BPE (open_clip's `SimpleTokenizer.bpe`). A word is a string of byte
// characters; its last symbol carries the `</w>` end-of-word marker, so a merge learnt at the end
// of words never fires inside one. Each round merges every occurrence (left to right, without
// overlap) of the adjacent pair with the lowest rank, until no adjacent pair has a rank.

export const endOfWord = '</w>';

/** The key of a merge pair; byte characters never include a space, so the key is unambiguous. */
export function pairKey(first: string, second: string): string {
  return `${first} ${second}`;
}

export class BytePairEncoder {
  // open_clip keeps every word it has seen; a long-lived worker would grow without bound, so this
  // remembers the most recently used words only (a Map iterates in insertion order).
  private readonly cache = new Map<string, readonly string[]>();

  constructor(
    private readonly ranks: ReadonlyMap<string, number>,
    private readonly cacheSize = 20_000,
  ) {}

  /** The symbols `word` merges into; the last one ends in `</w>`. */
  symbols(word: string): readonly string[] {
    const cached = this.cache.get(word);
    if (cached) {
      this.cache.delete(word);
      this.cache.set(word, cached);
      return cached;
    }
    const merged = this.merge(word);
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) {
        const oldest = this.cache.keys().next();
        if (!oldest.done) this.cache.delete(oldest.value);
      }
      this.cache.set(word, merged);
    }
    return merged;
  }

  private merge(word: string): readonly string[] {
    // Byte characters are all below U+0200, so code units are characters here.
    let symbols = word.split('');
    const last = symbols.length - 1;
    if (last < 0) return [];
    symbols[last] += endOfWord;

    while (symbols.length > 1) {
      let best: [string, string] | undefined;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i += 1) {
        const first = symbols[i] ?? '';
        const second = symbols[i + 1] ?? '';
        const rank = this.ranks.get(pairKey(first, second));
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = [first, second];
        }
      }
      if (!best) break;
      const [first, second] = best;
      const next: string[] = [];
      for (let i = 0; i < symbols.length;) {
        const symbol = symbols[i] ?? '';
        if (symbol === first && i + 1 < symbols.length && symbols[i + 1] === second) {
          next.push(first + second);
          i += 2;
        } else {
          next.push(symbol);
          i += 1;
        }
      }
      symbols = next;
    }
    return symbols;
  }
}
