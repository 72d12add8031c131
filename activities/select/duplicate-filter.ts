import { seededRandom } from '../common/seeded-random.js';
import { dot } from './centroid-kernels.js';

// PathGen thins near-duplicate patches (cosine above 0.88 between image embeddings, within a slide)
// "probabilistically" without publishing the rule. Ours walks the candidates in priority order and
// compares each with the patches already kept, so a higher-priority patch is never dropped in
// favour of a lower one:
// - greedy: a patch whose cosine with any kept patch is above the threshold is dropped, so no two
//   kept patches are above it;
// - probabilistic: such a patch is dropped with probability p = ½ + ½ · (s − t)/(1 − t), where s is
//   its largest cosine with a kept patch and t the threshold: a coin toss just above the threshold,
//   certain for an identical patch (s = 1), one seeded draw per patch above the threshold;
// - off: nothing is dropped (the released code has no such filter).

export type DuplicateMode = 'greedy' | 'probabilistic' | 'off';

export interface DroppedDuplicate {
  index: number;
  /** The kept patch it is most similar to. */
  keptIndex: number;
  similarity: number;
}

export interface DuplicateFilterResult {
  kept: number[];
  dropped: DroppedDuplicate[];
}

/** `order`: candidate indices, highest priority first. Embeddings: row-major, L2-normalised, width d. */
export function filterDuplicates(
  order: readonly number[],
  embeddings: Float32Array,
  d: number,
  threshold: number,
  mode: DuplicateMode,
  seed: number,
): DuplicateFilterResult {
  if (mode === 'off') return { kept: [...order], dropped: [] };
  const random = seededRandom(seed);
  const kept: number[] = [];
  const dropped: DroppedDuplicate[] = [];
  for (const index of order) {
    let similarity = -Infinity;
    let keptIndex = -1;
    for (const other of kept) {
      const value = dot(embeddings, index * d, embeddings, other * d, d);
      if (value > similarity) {
        similarity = value;
        keptIndex = other;
      }
    }
    if (similarity > threshold && (mode === 'greedy' || random() < dropProbability(similarity, threshold))) {
      dropped.push({ index, keptIndex, similarity });
    } else {
      kept.push(index);
    }
  }
  return { kept, dropped };
}

export function dropProbability(similarity: number, threshold: number): number {
  if (threshold >= 1) return 1;
  return Math.min(1, Math.max(0, 0.5 + (0.5 * (similarity - threshold)) / (1 - threshold)));
}
