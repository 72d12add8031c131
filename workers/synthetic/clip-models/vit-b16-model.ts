import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OnnxGraph, attr, randomWeights, seededRandom } from './onnx-graph.js';
import { tinyModelFiles, writeTinyClipModel } from './tiny-clip-model.js';

// A ViT-B/16 image encoder with CLIP's shape and random weights, for the benchmark only: the same
// arithmetic per image as PathGen-CLIP's vision tower (≈86 M parameters, ≈17.5 GFLOPs at 224 px),
// none of its knowledge. Pre-norm transformer blocks as in open_clip's VisionTransformer.

export interface VitB16Options {
  seed: number;
  /** 224 (PathGen-CLIP) or 336; a multiple of the patch size. */
  imageSize?: number;
  embedDim?: number;
}

const patch = 16;
const width = 768;
const layers = 12;
const heads = 12;
const mlpWidth = 3072;
const headDim = width / heads;

export function vitB16ImageEncoder(options: VitB16Options): Uint8Array {
  const imageSize = options.imageSize ?? 224;
  const embedDim = options.embedDim ?? 512;
  if (imageSize % patch !== 0) throw new Error(`imageSize must be a multiple of ${patch}, got ${imageSize}`);
  const tokens = (imageSize / patch) ** 2 + 1;
  const random = seededRandom(options.seed);
  const g = new OnnxGraph('vit_b16_image_encoder');
  const weights = (dims: number[], fanIn: number) =>
    g.tensor(
      randomWeights(
        random,
        dims.reduce((a, b) => a * b, 1),
        fanIn,
      ),
      dims,
    );
  const ones = g.tensor(new Float32Array(width).fill(1), [width], 'ln_scale');
  const zeros = g.tensor(new Float32Array(width), [width], 'ln_bias');
  const layerNorm = (x: string) => g.op('LayerNormalization', [x, ones, zeros], { axis: attr.int(-1) });
  const linear = (x: string, inputs: number, outputs: number) =>
    g.op('Add', [
      g.op('MatMul', [x, weights([inputs, outputs], inputs)]),
      g.tensor(new Float32Array(outputs), [outputs]),
    ]);

  const pixels = g.input('pixel_values', 'float32', ['batch', 3, imageSize, imageSize]);
  const patches = g.op('Conv', [pixels, weights([width, 3, patch, patch], 3 * patch * patch)], {
    kernel_shape: attr.ints([patch, patch]),
    strides: attr.ints([patch, patch]),
  });
  // [N, width, g, g] → [N, g·g, width]
  const sequence = g.op('Transpose', [g.op('Reshape', [patches, g.int64s([0, width, -1])])], {
    perm: attr.ints([0, 2, 1]),
  });
  // The class token, repeated for every image of the batch.
  const batch = g.op('Slice', [g.op('Shape', [pixels]), g.int64s([0]), g.int64s([1])]);
  const classShape = g.op('Concat', [batch, g.int64s([1, width])], { axis: attr.int(0) });
  const classToken = g.op('Expand', [weights([1, 1, width], width), classShape]);
  const positions = weights([1, tokens, width], width);
  let x = layerNorm(g.op('Add', [g.op('Concat', [classToken, sequence], { axis: attr.int(1) }), positions]));

  const scale = g.floats([1 / Math.sqrt(headDim)], []);
  const qkvShape = g.int64s([0, 0, 3, heads, headDim]);
  const mergeShape = g.int64s([0, 0, width]);
  for (let layer = 0; layer < layers; layer++) {
    const qkv = g.op('Transpose', [g.op('Reshape', [linear(layerNorm(x), width, 3 * width), qkvShape])], {
      perm: attr.ints([2, 0, 3, 1, 4]),
    });
    const [q, k, v] = [0, 1, 2].map((i) => g.op('Gather', [qkv, g.int64s([i], [])], { axis: attr.int(0) })) as [
      string,
      string,
      string,
    ];
    const keysT = g.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) });
    const weightsOf = g.op('Softmax', [g.op('Mul', [g.op('MatMul', [q, keysT]), scale])], { axis: attr.int(-1) });
    const attended = g.op('Transpose', [g.op('MatMul', [weightsOf, v])], { perm: attr.ints([0, 2, 1, 3]) });
    x = g.op('Add', [x, linear(g.op('Reshape', [attended, mergeShape]), width, width)]);

    const hidden = linear(layerNorm(x), width, mlpWidth);
    x = g.op('Add', [x, linear(gelu(g, hidden), mlpWidth, width)]);
  }
  const classOut = layerNorm(g.op('Gather', [x, g.int64s([0], [])], { axis: attr.int(1) }));
  const projected = g.op('MatMul', [classOut, weights([width, embedDim], width)], {}, 'image_embeds');
  g.output(projected, 'float32', ['batch', embedDim]);
  return g.encode();
}

/** GELU as the exact erf form: 0.5 · x · (1 + erf(x / √2)). */
function gelu(g: OnnxGraph, x: string): string {
  const erf = g.op('Erf', [g.op('Mul', [x, g.floats([Math.SQRT1_2], [])])]);
  return g.op('Mul', [g.op('Mul', [x, g.floats([0.5], [])]), g.op('Add', [erf, g.floats([1], [])])]);
}

/** Writes the encoder to `file` (≈345 MB at 224 px). */
export async function writeVitB16ImageEncoder(file: string, options: VitB16Options): Promise<void> {
  await writeFile(file, vitB16ImageEncoder(options));
}

/**
 * A complete model directory around the ViT-B/16 image encoder (the tiny text encoder, widened to
 * 512), so a benchmark loads it through `loadClipModel` like a real export.
 */
export async function writeVitB16ClipModel(dir: string, options: VitB16Options): Promise<string> {
  const imageSize = options.imageSize ?? 224;
  const embedDim = options.embedDim ?? 512;
  await writeTinyClipModel(dir, {
    seed: options.seed,
    embedDim,
    imageSize,
    name: 'vit-b16-random',
    version: `seed-${options.seed}-${imageSize}`,
  });
  await writeVitB16ImageEncoder(join(dir, tinyModelFiles.imageEncoder), { ...options, imageSize, embedDim });
  return dir;
}
