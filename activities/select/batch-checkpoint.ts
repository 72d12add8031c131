import type { ObjectStore } from '../store/object-store.js';

// Embeddings are checkpointed per batch, so a select attempt retried after a crash embeds only the
// batches it had not finished. A batch is the unit of work and of resume: its embeddings and its
// quality scores are written together; the embeddings object is written last and marks it done.

export interface EmbeddedBatch {
  /** rows × dim, row-major. */
  embeddings: Float32Array;
  /** One tissue-quality score per row, in [0, 1]. */
  quality: Float32Array;
}

export interface BatchCheckpoint {
  load(batch: number, rows: number, dim: number): Promise<EmbeddedBatch | undefined>;
  save(batch: number, data: EmbeddedBatch): Promise<void>;
}

export function storeBatchCheckpoint(store: ObjectStore, prefix: string): BatchCheckpoint {
  const key = (batch: number, part: 'embeddings' | 'quality') =>
    `${prefix}/${String(batch).padStart(6, '0')}.${part}.f32`;
  return {
    async load(batch, rows, dim) {
      if (!(await store.exists(key(batch, 'embeddings')))) return undefined;
      const embeddings = floats(await store.get(key(batch, 'embeddings')));
      const quality = floats(await store.get(key(batch, 'quality')));
      // A checkpoint from another model or batch size is not this batch: embed it again.
      if (embeddings.length !== rows * dim || quality.length !== rows) return undefined;
      return { embeddings, quality };
    },
    async save(batch, data) {
      await store.put(key(batch, 'quality'), bytesOf(data.quality), { contentType: 'application/octet-stream' });
      await store.put(key(batch, 'embeddings'), bytesOf(data.embeddings), { contentType: 'application/octet-stream' });
    },
  };
}

/** For local runs (the CLI): nothing is kept between runs. */
export const noCheckpoint: BatchCheckpoint = {
  load: () => Promise.resolve(undefined),
  save: () => Promise.resolve(),
};

/** Little-endian float32, the layout numpy's `np.fromfile(f, '<f4')` reads. */
export function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

export function floats(bytes: Uint8Array): Float32Array {
  // Copy: a Buffer from the store may sit at an offset that is not a multiple of 4.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}
