// Zero-shot classification with a CLIP: class embeddings from prompt text embeddings, logits as
// scaled cosine similarity to the image embeddings. PathGen's protocol is one template per dataset,
// L2-normalised features and logit scale 100; prompt ensembling follows open_clip's
// zero_shot_classifier (mean of the normalised template embeddings, normalised again).
import { PathgenError } from '../common/errors.js';
import { argmaxRows, softmaxRows } from './metrics.js';

/** Class embeddings, one L2-normalised row of `dim` per class. */
export interface ZeroShotClassifier {
  weights: Float64Array;
  classCount: number;
  dim: number;
}

export interface ZeroShotPrediction {
  predictions: Int32Array;
  /** Softmax of the logits, n rows of classCount. */
  probabilities: Float64Array;
}

/** The placeholder templates use for the class name; `{}` (open_clip/CLIP_benchmark style) is accepted too. */
export const classPlaceholder = '{class}';

/** The prompts for one class: each template with every `{class}` or `{}` replaced by the class name. */
export function formatPrompts(templates: readonly string[], className: string): string[] {
  if (templates.length === 0) throw new PathgenError('InvalidInput', 'no prompt templates given');
  return templates.map((template) => {
    if (!template.includes(classPlaceholder) && !template.includes('{}'))
      throw new PathgenError(
        'InvalidInput',
        `template "${template}" has no ${classPlaceholder} (or {}) placeholder, so every class would get the same prompt`,
        { template },
      );
    return template.replaceAll(classPlaceholder, className).replaceAll('{}', className);
  });
}

function normaliseInto(target: Float64Array, offset: number, source: ArrayLike<number>, start: number, dim: number) {
  let squares = 0;
  for (let j = 0; j < dim; j++) squares += source[start + j]! * source[start + j]!;
  const norm = Math.sqrt(squares);
  if (!(norm > 0) || !Number.isFinite(norm)) return false;
  for (let j = 0; j < dim; j++) target[offset + j] = source[start + j]! / norm;
  return true;
}

/**
 * Builds the classifier from per-class text embeddings (templates × dim rows each). Without `ensemble`
 * only the first template counts (PathGen); with it, the normalised templates are averaged.
 */
export function zeroShotClassifier(
  textEmbeddings: readonly Float32Array[],
  dim: number,
  options: { ensemble?: boolean } = {},
): ZeroShotClassifier {
  if (!Number.isInteger(dim) || dim < 1) throw new PathgenError('InvalidInput', `dim must be a positive integer`);
  if (textEmbeddings.length < 2)
    throw new PathgenError('InvalidInput', `zero-shot needs at least two classes, got ${textEmbeddings.length}`);
  const classCount = textEmbeddings.length;
  const weights = new Float64Array(classCount * dim);
  const row = new Float64Array(dim);
  textEmbeddings.forEach((embeddings, c) => {
    if (embeddings.length === 0 || embeddings.length % dim !== 0)
      throw new PathgenError('InvalidInput', `class ${c}: ${embeddings.length} values are not rows of ${dim}`, {
        class: c,
      });
    const templates = options.ensemble ? embeddings.length / dim : 1;
    const mean = new Float64Array(dim);
    for (let t = 0; t < templates; t++) {
      if (!normaliseInto(row, 0, embeddings, t * dim, dim))
        throw new PathgenError('InvalidInput', `class ${c}, template ${t}: the text embedding has no direction`, {
          class: c,
          template: t,
        });
      for (let j = 0; j < dim; j++) mean[j]! += row[j]! / templates;
    }
    if (!normaliseInto(weights, c * dim, mean, 0, dim))
      throw new PathgenError('InvalidInput', `class ${c}: its template embeddings cancel out`, { class: c });
  });
  return { weights, classCount, dim };
}

/** logitScale × cosine(image, class): n rows of classCount. Image features are L2-normalised here. */
export function zeroShotLogits(
  imageFeatures: ArrayLike<number>,
  n: number,
  classifier: ZeroShotClassifier,
  logitScale = 100,
): Float64Array {
  const { dim, classCount, weights } = classifier;
  if (imageFeatures.length !== n * dim)
    throw new PathgenError('InvalidInput', `${imageFeatures.length} image feature values are not ${n} rows of ${dim}`);
  const logits = new Float64Array(n * classCount);
  const image = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    if (!normaliseInto(image, 0, imageFeatures, i * dim, dim))
      throw new PathgenError('InvalidInput', `image ${i}: its embedding has no direction (zero or not finite)`, {
        index: i,
      });
    for (let c = 0; c < classCount; c++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += image[j]! * weights[c * dim + j]!;
      logits[i * classCount + c] = logitScale * dot;
    }
  }
  return logits;
}

/** Top-1 class (the first on ties) and softmax probabilities of zero-shot logits. */
export function zeroShotPredict(logits: ArrayLike<number>, classCount: number): ZeroShotPrediction {
  return { predictions: argmaxRows(logits, classCount), probabilities: softmaxRows(logits, classCount) };
}
