import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openAiClipMean, openAiClipStd } from '../../../activities/clip/preprocess-spec.js';
import { OnnxGraph, attr, randomWeights, seededRandom } from './onnx-graph.js';
import { tiny, writeTinyBpeFile } from './tiny-vocabulary.js';

// A complete CLIP model directory small enough to build in milliseconds: the same files, names and
// config a real export writes (infra/export-clip-onnx.py), so tests load it through the production path.

export interface TinyClipModelOptions {
  seed: number;
  embedDim?: number;
  /** Side of the square input; a multiple of 4 (the image encoder sees a 4×4 grid of patches). */
  imageSize?: number;
  contextLength?: number;
  name?: string;
  version?: string;
}

const grid = 4;
const imageChannels = 8;
const textWidth = 24;

export const tinyModelFiles = {
  imageEncoder: 'image_encoder.onnx',
  textEncoder: 'text_encoder.onnx',
  tokenizer: 'bpe_simple_vocab_16e6.txt.gz',
  config: 'config.json',
} as const;

/** Conv patchify → tanh → flatten → projection: every pixel moves the embedding. */
export function tinyImageEncoder(seed: number, imageSize: number, embedDim: number): Uint8Array {
  if (imageSize % grid !== 0) throw new Error(`imageSize must be a multiple of ${grid}, got ${imageSize}`);
  const patch = imageSize / grid;
  const random = seededRandom(seed);
  const g = new OnnxGraph('tiny_image_encoder');
  const pixels = g.input('pixel_values', 'float32', ['batch', 3, imageSize, imageSize]);
  const kernel = g.tensor(randomWeights(random, imageChannels * 3 * patch * patch, 3 * patch * patch), [
    imageChannels,
    3,
    patch,
    patch,
  ]);
  const bias = g.tensor(randomWeights(random, imageChannels, 1), [imageChannels]);
  const features = g.op('Conv', [pixels, kernel, bias], {
    kernel_shape: attr.ints([patch, patch]),
    strides: attr.ints([patch, patch]),
  });
  const flat = g.op('Flatten', [g.op('Tanh', [features])], { axis: attr.int(1) });
  const width = imageChannels * grid * grid;
  const projection = g.tensor(randomWeights(random, width * embedDim, width), [width, embedDim]);
  g.output(g.op('MatMul', [flat, projection], {}, 'image_embeds'), 'float32', ['batch', embedDim]);
  return g.encode();
}

/**
 * Token + position embedding → tanh → running sum along the context → the value at the end-of-text
 * token (the row's highest id, as CLIP pools) → projection: every token up to the end counts, in order.
 */
export function tinyTextEncoder(seed: number, contextLength: number, embedDim: number): Uint8Array {
  const random = seededRandom(seed ^ 0x5eed);
  const g = new OnnxGraph('tiny_text_encoder');
  const ids = g.input('input_ids', 'int64', ['batch', contextLength]);
  const table = g.tensor(randomWeights(random, tiny.size * textWidth, 1), [tiny.size, textWidth]);
  const positions = g.tensor(randomWeights(random, contextLength * textWidth, 1), [contextLength, textWidth]);
  const tokens = g.op('Tanh', [g.op('Add', [g.op('Gather', [table, ids], { axis: attr.int(0) }), positions])]);
  const running = g.op('CumSum', [tokens, g.int64s([1], [])]);
  const lastId = g.op('ReduceMax', [ids], { axes: attr.ints([1]), keepdims: attr.int(1) });
  const isEnd = g.op('Cast', [g.op('Equal', [ids, lastId])], { to: attr.int(1) });
  const picked = g.op('Mul', [running, g.op('Unsqueeze', [isEnd, g.int64s([2])])]);
  const pooled = g.op('ReduceSum', [picked, g.int64s([1])], { keepdims: attr.int(0) });
  const projection = g.tensor(randomWeights(random, textWidth * embedDim, textWidth), [textWidth, embedDim]);
  g.output(g.op('MatMul', [pooled, projection], {}, 'text_embeds'), 'float32', ['batch', embedDim]);
  return g.encode();
}

/** The config.json a real export writes, for this tiny model. */
export function tinyModelConfig(options: TinyClipModelOptions): Record<string, unknown> {
  return {
    name: options.name ?? 'tiny-clip',
    version: options.version ?? `seed-${options.seed}`,
    embedDim: options.embedDim ?? 16,
    logitScale: 100,
    contextLength: options.contextLength ?? 77,
    tokenizer: tinyModelFiles.tokenizer,
    preprocess: {
      imageSize: options.imageSize ?? 32,
      mean: [...openAiClipMean],
      std: [...openAiClipStd],
      resizeMode: 'shortest',
      interpolation: 'bicubic',
    },
    imageEncoder: { file: tinyModelFiles.imageEncoder, input: 'pixel_values', output: 'image_embeds' },
    textEncoder: { file: tinyModelFiles.textEncoder, input: 'input_ids', output: 'text_embeds' },
  };
}

/** Writes a complete model directory into `dir` (created if needed) and returns `dir`. */
export async function writeTinyClipModel(dir: string, options: TinyClipModelOptions): Promise<string> {
  const embedDim = options.embedDim ?? 16;
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, tinyModelFiles.imageEncoder),
    tinyImageEncoder(options.seed, options.imageSize ?? 32, embedDim),
  );
  await writeFile(
    join(dir, tinyModelFiles.textEncoder),
    tinyTextEncoder(options.seed, options.contextLength ?? 77, embedDim),
  );
  await writeTinyBpeFile(dir, tinyModelFiles.tokenizer);
  await writeFile(join(dir, tinyModelFiles.config), `${JSON.stringify(tinyModelConfig(options), null, 2)}\n`);
  return dir;
}
