import { seededRandom } from '../../../activities/common/seeded-random.js';

export interface SyntheticFeatures {
  features: Float32Array;
  labels: Int32Array;
}

/** Normal draws (Box–Muller) from the patch grid's seeded generator. */
export function gaussian(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * Gaussian clusters around random class centres: `separation` scales the centres against unit noise,
 * so small values give overlapping classes. Samples cycle through the classes (label i % classCount).
 */
export function clusteredFeatures(options: {
  classCount: number;
  count: number;
  dim: number;
  separation: number;
  seed: number;
  centresSeed?: number;
}): SyntheticFeatures {
  const { classCount, count, dim, separation } = options;
  const centreDraw = gaussian(options.centresSeed ?? 1000 + options.seed);
  const centres = Array.from({ length: classCount }, () => Float64Array.from({ length: dim }, centreDraw));
  const noise = gaussian(options.seed);
  const features = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % classCount;
    labels[i] = label;
    for (let j = 0; j < dim; j++) features[i * dim + j] = separation * centres[label]![j]! + noise();
  }
  return { features, labels };
}
