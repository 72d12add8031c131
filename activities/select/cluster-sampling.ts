import { PathgenError } from '../common/errors.js';
import { seededRandom } from '../common/seeded-random.js';
import { dot } from './centroid-kernels.js';

// The diversity route of PathGen's selection: cluster the candidates, then take a few from every
// cluster. The paper and the released code disagree on the number of clusters, so both are offered.

/**
 * `sqrtPatches`: k = ⌈√N⌉ (the paper). `sqrtBatches`: k = ⌈√(1.6 × N/128)⌉ (the released code,
 * counting batches of 128 patches), computed as ⌈√(N/80)⌉ so that exact squares stay exact.
 */
export type KPolicy = 'sqrtPatches' | 'sqrtBatches';

/** Clusters for n candidates, clamped to [1, n] (0 for no candidates). An explicit k wins. */
export function clusterCount(n: number, policy: KPolicy, explicitK?: number): number {
  if (!Number.isInteger(n) || n < 0) {
    throw new PathgenError('InvalidInput', `candidate count must be a non-negative integer, got ${n}`, { n });
  }
  if (explicitK !== undefined && (!Number.isInteger(explicitK) || explicitK < 1)) {
    throw new PathgenError('InvalidInput', `k must be a positive integer, got ${explicitK}`, { k: explicitK });
  }
  if (n === 0) return 0;
  const k = explicitK ?? (policy === 'sqrtPatches' ? Math.ceil(Math.sqrt(n)) : Math.ceil(Math.sqrt(n / 80)));
  return Math.min(n, Math.max(1, k));
}

/**
 * `random` (PathGen): a seeded draw without replacement inside each cluster. `nearest`: the members
 * closest to the centroid first (the most typical patches of each cluster).
 */
export type ClusterSampling = 'random' | 'nearest';

export interface ClusterPick {
  index: number;
  cluster: number;
  /** 1 for the first patch taken from its cluster, 2 for the second, … */
  rank: number;
}

export interface ClusterSamplingInput {
  assignments: Int32Array;
  k: number;
  /** Needed for `nearest`: row-major candidates and centroids of width d. */
  embeddings: Float32Array;
  centroids: Float32Array;
  d: number;
}

/**
 * Takes `perCluster` candidates from every cluster, at most `target` in all, in rounds: the first
 * pick of every cluster, then the second of every cluster, … with larger clusters first in each
 * round (ties by cluster id). Clusters smaller than `perCluster` give all their members. The order
 * is the priority order, so anything cut later (by the per-slide cap) is cut evenly across clusters.
 */
export function sampleClusters(
  input: ClusterSamplingInput,
  perCluster: number,
  target: number,
  sampling: ClusterSampling,
  seed: number,
): ClusterPick[] {
  const members: number[][] = Array.from({ length: input.k }, () => []);
  input.assignments.forEach((cluster, index) => members[cluster]!.push(index));
  const random = seededRandom(seed);
  const ordered = members.map((rows, cluster) =>
    sampling === 'random'
      ? drawWithoutReplacement(rows, perCluster, random)
      : nearestFirst(rows, cluster, perCluster, input),
  );
  const clusterOrder = members
    .map((rows, cluster) => ({ cluster, size: rows.length }))
    .sort((a, b) => b.size - a.size || a.cluster - b.cluster)
    .map(({ cluster }) => cluster);

  const picks: ClusterPick[] = [];
  for (let round = 0; round < perCluster && picks.length < target; round++) {
    for (const cluster of clusterOrder) {
      const index = ordered[cluster]![round];
      if (index === undefined) continue;
      picks.push({ index, cluster, rank: round + 1 });
      if (picks.length === target) break;
    }
  }
  return picks;
}

function drawWithoutReplacement(rows: number[], count: number, random: () => number): number[] {
  const pool = rows.slice();
  const taken = Math.min(count, pool.length);
  for (let i = 0; i < taken; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, taken);
}

function nearestFirst(rows: number[], cluster: number, count: number, input: ClusterSamplingInput): number[] {
  const { embeddings, centroids, d } = input;
  // For unit rows, the smallest distance to the centroid is the largest dot product with it.
  return rows
    .map((index) => ({ index, similarity: dot(embeddings, index * d, centroids, cluster * d, d) }))
    .sort((a, b) => b.similarity - a.similarity || a.index - b.index)
    .slice(0, count)
    .map(({ index }) => index);
}
