import { seededRandom } from '../../activities/common/seeded-random.js';

// Seeded synthetic image embeddings: planted clusters on the unit sphere, each point a random
// centre plus Gaussian noise, then L2-normalised. `noise` is the noise norm relative to the centre,
// so 0.1 gives near-duplicates (cosine ≈ 0.99 to the centre) and 1 gives loose clusters.

export interface SyntheticEmbeddings {
  embeddings: Float32Array;
  /** The planted cluster of each row. */
  labels: Int32Array;
  n: number;
  d: number;
}

export function plantedClusters(options: {
  clusters: number;
  perCluster: number;
  d: number;
  noise: number;
  seed: number;
}): SyntheticEmbeddings {
  const { clusters, perCluster, d, noise, seed } = options;
  const gaussian = gaussianSource(seed);
  const centres = Array.from({ length: clusters }, () => unit(Float64Array.from({ length: d }, gaussian)));
  const n = clusters * perCluster;
  const embeddings = new Float32Array(n * d);
  const labels = new Int32Array(n);
  // Interleaved so that a cluster's rows are not contiguous.
  for (let i = 0; i < n; i++) {
    const cluster = i % clusters;
    labels[i] = cluster;
    const centre = centres[cluster]!;
    const point = unit(Float64Array.from({ length: d }, (_, t) => centre[t]! + (noise / Math.sqrt(d)) * gaussian()));
    embeddings.set(point, i * d);
  }
  return { embeddings, labels, n, d };
}

/** Row-major n × columns uniform values in [low, high). */
export function randomMatrix(n: number, columns: number, seed: number, low = 0, high = 1): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n * columns }, () => low + (high - low) * random());
}

export function cosine(embeddings: Float32Array, d: number, a: number, b: number): number {
  let sum = 0;
  for (let t = 0; t < d; t++) sum += embeddings[a * d + t]! * embeddings[b * d + t]!;
  return sum;
}

function gaussianSource(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function unit(vector: Float64Array): Float64Array {
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}
