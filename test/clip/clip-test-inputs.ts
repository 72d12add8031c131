import { loadClipModel } from '../../activities/clip/clip-model.js';
import type { ClipModel } from '../../activities/clip/clip-model.js';
import { seededRandom } from '../../workers/synthetic/clip-models/onnx-graph.js';

// What the CLIP model tests share: seeded inputs in the tiny model's layout and a load/dispose wrapper.

export const imageSize = 32;
export const imageValues = 3 * imageSize * imageSize;

/** `count` seeded images, already in the model's NCHW layout; image i is the same for every call. */
export function images(count: number, size = imageSize, seed = 3): Float32Array {
  const values = new Float32Array(count * 3 * size * size);
  for (let i = 0; i < count; i++) {
    const random = seededRandom(seed * 1000 + i);
    const offset = i * 3 * size * size;
    for (let j = 0; j < 3 * size * size; j++) values[offset + j] = random() * 4 - 2;
  }
  return values;
}

export function rows(values: Float32Array, width: number): Float32Array[] {
  return Array.from({ length: values.length / width }, (_, i) => values.subarray(i * width, (i + 1) * width));
}

export const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * b[i]!, 0);

export async function withModel<T>(
  source: Parameters<typeof loadClipModel>[0],
  options: Parameters<typeof loadClipModel>[1],
  use: (model: ClipModel) => Promise<T>,
): Promise<T> {
  const model = await loadClipModel(source, options);
  try {
    return await use(model);
  } finally {
    await model.dispose();
  }
}
