import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { PathgenError } from '../common/errors.js';
import { openCentroidKernels, type KernelBackend } from './centroid-kernels.js';
import { DistancePass } from './distance-pass.js';
import type { KmeansProgress } from './kmeans-progress.js';
import { seedPlusPlus } from './kmeans-seeding.js';

// Euclidean k-means (on L2-normalised embeddings this is spherical-ish k-means by cosine) with
// greedy k-means++ seeding and Lloyd iterations. The N×k distance work runs in blocks on the
// centroid kernels (onnxruntime by default) and the loop yields to the event loop between
// blocks, so an activity's heartbeats and cancellation get through. For a given seed, backend and
// machine the result is deterministic: every random choice comes from one seeded generator, ties
// go to the lowest index, and sums are accumulated in a fixed order.

export interface KmeansOptions {
  k: number;
  /** Seed of the k-means++ draws (default 0). */
  seed?: number;
  /** Lloyd iterations at most (default 100). */
  maxIterations?: number;
  /** Stop when no centroid moved further than this (Euclidean, default 1e-4). */
  tolerance?: number;
  /** Where the distance products run (default 'onnx'). */
  backend?: KernelBackend;
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (progress: KmeansProgress) => void;
}

export interface KmeansResult {
  /** Cluster of each row, 0 ≤ id < k. */
  assignments: Int32Array;
  /** Row-major k × d means (not re-normalised). */
  centroids: Float32Array;
  /** Clusters found: the requested k, or fewer when the data has fewer distinct points. */
  k: number;
  /** Members per cluster. */
  sizes: Int32Array;
  iterations: number;
  converged: boolean;
  /** Sum of squared distances of the rows to their centroids. */
  inertia: number;
}

export const kmeansDefaults = { seed: 0, maxIterations: 100, tolerance: 1e-4 } as const;

/** Rows of the centroid update between two yields. */
const updateBlockRows = 4096;

export async function kmeans(
  embeddings: Float32Array,
  n: number,
  d: number,
  options: KmeansOptions,
): Promise<KmeansResult> {
  validate(embeddings, n, d, options);
  const maxIterations = options.maxIterations ?? kmeansDefaults.maxIterations;
  const tolerance = options.tolerance ?? kmeansDefaults.tolerance;
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  if (n === 0) {
    return {
      assignments: new Int32Array(0),
      centroids: new Float32Array(0),
      k: 0,
      sizes: new Int32Array(0),
      iterations: 0,
      converged: true,
      inertia: 0,
    };
  }
  const requestedK = Math.min(options.k, n);
  const kernels = await openCentroidKernels(d, { backend: options.backend, threads: options.threads });
  try {
    const pass = new DistancePass(kernels, embeddings, n, d, signal);
    const seeds = await seedPlusPlus(pass, requestedK, options.seed ?? kmeansDefaults.seed, onProgress);
    const k = seeds.length;
    let centroids: Float32Array = new Float32Array(k * d);
    seeds.forEach((row, j) => centroids.set(embeddings.subarray(row * d, row * d + d), j * d));

    let iterations = 0;
    let converged = false;
    while (iterations < maxIterations) {
      await pass.assign(centroids, k);
      relocateIntoEmptyClusters(pass, k);
      const updated = await updateCentroids(pass, centroids, k);
      iterations++;
      const shift = largestShift(centroids, updated, k, d);
      centroids = updated;
      onProgress?.({ phase: 'iterating', step: iterations, total: maxIterations, shift });
      if (shift <= tolerance) {
        converged = true;
        break;
      }
    }
    // A last assignment so the labels belong to the centroids returned (as scikit-learn does).
    const inertia = await pass.assign(centroids, k);
    return {
      assignments: pass.nearest,
      centroids,
      k,
      sizes: clusterSizes(pass.nearest, k),
      iterations,
      converged,
      inertia,
    };
  } finally {
    await kernels.release();
  }
}

/**
 * A cluster left empty takes the row farthest from its centroid among clusters with more than one
 * member (scikit-learn's rule); with no such row apart from coincident ones it stays empty.
 */
function relocateIntoEmptyClusters(pass: DistancePass, k: number): void {
  const sizes = clusterSizes(pass.nearest, k);
  for (let cluster = 0; cluster < k; cluster++) {
    if (sizes[cluster]! > 0) continue;
    let farthest = -1;
    for (let i = 0; i < pass.n; i++) {
      if (sizes[pass.nearest[i]!]! <= 1 || pass.distance[i]! <= 0) continue;
      if (farthest < 0 || pass.distance[i]! > pass.distance[farthest]!) farthest = i;
    }
    if (farthest < 0) return;
    sizes[pass.nearest[farthest]!]!--;
    sizes[cluster] = 1;
    pass.nearest[farthest] = cluster;
    pass.distance[farthest] = 0;
  }
}

async function updateCentroids(pass: DistancePass, previous: Float32Array, k: number): Promise<Float32Array> {
  const { n, d, embeddings, nearest } = pass;
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  for (let start = 0; start < n; start += updateBlockRows) {
    pass.signal?.throwIfAborted();
    const end = Math.min(n, start + updateBlockRows);
    for (let i = start; i < end; i++) {
      const cluster = nearest[i]!;
      counts[cluster]!++;
      const target = cluster * d;
      const source = i * d;
      for (let t = 0; t < d; t++) sums[target + t]! += embeddings[source + t]!;
    }
    await yieldToEventLoop();
  }
  const centroids = new Float32Array(k * d);
  for (let j = 0; j < k; j++) {
    const count = counts[j]!;
    for (let t = j * d; t < j * d + d; t++) centroids[t] = count > 0 ? sums[t]! / count : previous[t]!;
  }
  return centroids;
}

function largestShift(before: Float32Array, after: Float32Array, k: number, d: number): number {
  let largest = 0;
  for (let j = 0; j < k; j++) {
    let sum = 0;
    for (let t = j * d; t < j * d + d; t++) sum += (after[t]! - before[t]!) ** 2;
    largest = Math.max(largest, Math.sqrt(sum));
  }
  return largest;
}

function clusterSizes(assignments: Int32Array, k: number): Int32Array {
  const sizes = new Int32Array(k);
  for (const cluster of assignments) sizes[cluster]!++;
  return sizes;
}

function validate(embeddings: Float32Array, n: number, d: number, options: KmeansOptions): void {
  const invalid = (message: string, details: Record<string, unknown>) => {
    throw new PathgenError('InvalidInput', message, details);
  };
  if (!Number.isInteger(n) || n < 0) invalid(`n must be a non-negative integer, got ${n}`, { n });
  if (!Number.isInteger(d) || d < 1) invalid(`d must be a positive integer, got ${d}`, { d });
  if (embeddings.length !== n * d) {
    invalid(`embeddings hold ${embeddings.length} values, expected n × d = ${n * d}`, {
      n,
      d,
      length: embeddings.length,
    });
  }
  if (!Number.isInteger(options.k) || options.k < 1)
    invalid(`k must be a positive integer, got ${options.k}`, { k: options.k });
  const maxIterations = options.maxIterations ?? kmeansDefaults.maxIterations;
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    invalid(`maxIterations must be a positive integer, got ${maxIterations}`, { maxIterations });
  }
  if (options.seed !== undefined && !Number.isInteger(options.seed)) {
    invalid(`seed must be an integer, got ${options.seed}`, { seed: options.seed });
  }
  const tolerance = options.tolerance ?? kmeansDefaults.tolerance;
  if (!(tolerance >= 0)) invalid(`tolerance must be ≥ 0, got ${tolerance}`, { tolerance });
}
