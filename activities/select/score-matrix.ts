import { PathgenError } from '../common/errors.js';
import { dot } from './centroid-kernels.js';

/** CLIP's zero-shot scale: PathGen scores a patch against a prompt as 100 × cosine. */
export const defaultLogitScale = 100;

/**
 * Row-major n × t scores logitScale × (image · text) for L2-normalised image (n × d) and text
 * (t × d) embeddings, so each score is logitScale × cosine. A slide's few dozen prompts against
 * 20,000 candidates of width 768 is about 0.5 G multiply-adds: a few hundred milliseconds here.
 */
export function scoreMatrix(
  imageEmbeddings: Float32Array,
  textEmbeddings: Float32Array,
  n: number,
  t: number,
  d: number,
  logitScale: number = defaultLogitScale,
): Float32Array {
  const invalid = (message: string, details: Record<string, unknown>) =>
    new PathgenError('InvalidInput', message, details);
  for (const [name, value] of [
    ['n', n],
    ['t', t],
  ] as const) {
    if (!Number.isInteger(value) || value < 0)
      throw invalid(`${name} must be a non-negative integer, got ${value}`, { [name]: value });
  }
  if (!Number.isInteger(d) || d < 1) throw invalid(`d must be a positive integer, got ${d}`, { d });
  if (!Number.isFinite(logitScale)) throw invalid(`logitScale must be finite, got ${logitScale}`, { logitScale });
  if (imageEmbeddings.length !== n * d) {
    throw invalid(`image embeddings hold ${imageEmbeddings.length} values, expected n × d = ${n * d}`, { n, d });
  }
  if (textEmbeddings.length !== t * d) {
    throw invalid(`text embeddings hold ${textEmbeddings.length} values, expected t × d = ${t * d}`, { t, d });
  }
  const scores = new Float32Array(n * t);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < t; j++) {
      scores[i * t + j] = logitScale * dot(imageEmbeddings, i * d, textEmbeddings, j * d, d);
    }
  }
  return scores;
}

/**
 * A copy of row-major n × d rows scaled to unit length, for embeddings that do not come out of a
 * CLIP model normalised (e.g. model-free feature vectors, after standardising their columns).
 */
export function l2NormaliseRows(rows: Float32Array, n: number, d: number): Float32Array {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(d) || d < 1 || rows.length !== n * d) {
    throw new PathgenError('InvalidInput', `rows hold ${rows.length} values, expected n × d = ${n * d}`, { n, d });
  }
  const result = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const norm = Math.sqrt(dot(rows, i * d, rows, i * d, d));
    if (!(norm > 0) || !Number.isFinite(norm)) {
      throw new PathgenError('InvalidInput', `row ${i} has no direction (norm ${norm})`, { row: i });
    }
    for (let t = i * d; t < i * d + d; t++) result[t] = rows[t]! / norm;
  }
  return result;
}
