import { seededRandom } from '../common/seeded-random.js';
import type { DistancePass } from './distance-pass.js';
import type { KmeansProgress } from './kmeans-progress.js';

/**
 * Greedy k-means++ (scikit-learn's seeding): the first seed uniformly at random; each next one the
 * best of 2 + ⌊ln k⌋ candidates drawn with probability proportional to their squared distance to
 * the nearest seed, "best" meaning the lowest sum of squared distances once it is added. Plain
 * k-means++ (one candidate) too often puts two seeds in one cluster that Lloyd cannot separate.
 */
export async function seedPlusPlus(
  pass: DistancePass,
  k: number,
  seed: number,
  onProgress: ((progress: KmeansProgress) => void) | undefined,
): Promise<number[]> {
  const { n, d, embeddings } = pass;
  const random = seededRandom(seed);
  const trials = 2 + Math.floor(Math.log(k));
  const rowsOf = (indices: number[]) => {
    const points = new Float32Array(indices.length * d);
    indices.forEach((row, j) => points.set(embeddings.subarray(row * d, row * d + d), j * d));
    return points;
  };
  const seeds = [Math.floor(random() * n)];
  const closest = Float64Array.from(await pass.squaredDistances(rowsOf(seeds), 1));
  const cumulative = new Float64Array(n);
  onProgress?.({ phase: 'seeding', step: 1, total: k });
  while (seeds.length < k) {
    let total = 0;
    for (let i = 0; i < n; i++) cumulative[i] = total += closest[i]!;
    // Every row coincides with a seed: there are fewer distinct points than k.
    if (total <= 0) break;
    const candidates = Array.from({ length: trials }, () => firstAbove(cumulative, random() * total));
    const distances = await pass.squaredDistances(rowsOf(candidates), trials);
    let best = 0;
    let bestPotential = Infinity;
    for (let j = 0; j < trials; j++) {
      let potential = 0;
      for (let i = 0; i < n; i++) potential += Math.min(closest[i]!, distances[i * trials + j]!);
      if (potential < bestPotential) {
        bestPotential = potential;
        best = j;
      }
    }
    for (let i = 0; i < n; i++) closest[i] = Math.min(closest[i]!, distances[i * trials + best]!);
    seeds.push(candidates[best]!);
    onProgress?.({ phase: 'seeding', step: seeds.length, total: k });
  }
  return seeds;
}

/** The first index whose cumulative sum exceeds `target` (a row with a positive weight). */
function firstAbove(cumulative: Float64Array, target: number): number {
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (cumulative[middle]! > target) high = middle;
    else low = middle + 1;
  }
  return low;
}
