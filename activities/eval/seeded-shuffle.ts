import { seededRandom } from '../common/seeded-random.js';

/** A permutation of 0..length-1 (Fisher–Yates on the patch grid's mulberry32), the same for the same seed. */
export function seededPermutation(length: number, seed: number): Int32Array {
  const random = seededRandom(seed);
  const order = Int32Array.from({ length }, (_, i) => i);
  for (let i = length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  return order;
}
