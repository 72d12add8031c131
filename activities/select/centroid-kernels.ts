import pkg from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { PathgenError } from '../common/errors.js';

const { onnx } = pkg;

// The hot loops of k-means, on a block of rows X against a few centroids C:
// - nearest: for each row, the centroid maximising x·c − ‖c‖²/2 (the one at the smallest
//   Euclidean distance, as ‖x − c‖² = ‖x‖² − 2(x·c − ‖c‖²/2)) and that value;
// - products: every x·c (for k-means++ candidates).
// Plain JS does about 1 GMAC/s; onnxruntime's MLAS GEMM tens of GMAC/s per core, so the default
// backend runs each block through a tiny ONNX graph (Gemm → ArgMax, ReduceMax; or Gemm alone). A
// run is synchronous inside onnxruntime-node, so callers pass blocks of about `blockWork`
// multiply-adds (a few milliseconds) and yield between them.

export type KernelBackend = 'onnx' | 'js';

export interface KernelBlock {
  /** Row-major rowCount × d. */
  rows: Float32Array;
  rowCount: number;
  /** Row-major k × d. */
  centroids: Float32Array;
  k: number;
}

export interface NearestBlock extends KernelBlock {
  /** −‖c‖²/2 per centroid. */
  bias: Float32Array;
  /** Filled per row: the winning centroid (lowest index on ties) and x·c − ‖c‖²/2 for it. */
  nearest: Int32Array;
  value: Float32Array;
}

export interface ProductsBlock extends KernelBlock {
  /** Filled with row-major rowCount × k products x·c. */
  products: Float32Array;
}

export interface CentroidKernels {
  readonly backend: KernelBackend;
  readonly blockWork: number;
  nearest(block: NearestBlock): Promise<void>;
  products(block: ProductsBlock): Promise<void>;
  release(): Promise<void>;
}

export interface CentroidKernelOptions {
  backend?: KernelBackend;
  /** onnxruntime intra-op threads (default 1: the result then cannot depend on the thread count). */
  threads?: number;
}

export async function openCentroidKernels(
  dimension: number,
  options: CentroidKernelOptions = {},
): Promise<CentroidKernels> {
  const backend = options.backend ?? 'onnx';
  if (backend === 'js') return jsKernels(dimension);
  if (backend !== 'onnx')
    throw new PathgenError('InvalidInput', `unknown k-means backend ${String(backend)}`, { backend });
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 0) {
    throw new PathgenError('InvalidInput', `threads must be a non-negative integer, got ${threads}`, { threads });
  }
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
  const sessions: ort.InferenceSession[] = [];
  try {
    sessions.push(await ort.InferenceSession.create(kernelModel('nearest'), sessionOptions));
    sessions.push(await ort.InferenceSession.create(kernelModel('products'), sessionOptions));
  } catch (error) {
    await Promise.all(sessions.map((session) => session.release()));
    throw new PathgenError(
      'ModelUnavailable',
      'onnxruntime could not build the k-means graphs',
      { backend },
      { cause: error },
    );
  }
  return onnxKernels(sessions[0]!, sessions[1]!, dimension);
}

function onnxKernels(nearest: ort.InferenceSession, products: ort.InferenceSession, d: number): CentroidKernels {
  const feeds = (block: KernelBlock) => ({
    X: new ort.Tensor('float32', block.rows.subarray(0, block.rowCount * d), [block.rowCount, d]),
    C: new ort.Tensor('float32', block.centroids.subarray(0, block.k * d), [block.k, d]),
  });
  return {
    backend: 'onnx',
    blockWork: 1 << 27,
    async nearest(block) {
      const outputs = await nearest.run({
        ...feeds(block),
        B: new ort.Tensor('float32', block.bias.subarray(0, block.k), [block.k]),
      });
      const index = outputs.nearest?.data;
      const value = outputs.value?.data;
      if (!(index instanceof BigInt64Array) || !(value instanceof Float32Array)) {
        throw new PathgenError('ModelOutputInvalid', 'the k-means nearest-centroid graph returned unexpected outputs');
      }
      for (let i = 0; i < block.rowCount; i++) block.nearest[i] = Number(index[i]);
      block.value.set(value.subarray(0, block.rowCount));
    },
    async products(block) {
      const outputs = await products.run(feeds(block));
      const result = outputs.products?.data;
      if (!(result instanceof Float32Array)) {
        throw new PathgenError('ModelOutputInvalid', 'the k-means products graph returned unexpected outputs');
      }
      block.products.set(result.subarray(0, block.rowCount * block.k));
    },
    async release() {
      await Promise.all([nearest.release(), products.release()]);
    },
  };
}

function jsKernels(d: number): CentroidKernels {
  return {
    backend: 'js',
    blockWork: 1 << 23,
    nearest(block) {
      const { rows, centroids, bias, k } = block;
      for (let i = 0; i < block.rowCount; i++) {
        let best = 0;
        let bestValue = -Infinity;
        for (let j = 0; j < k; j++) {
          const value = dot(rows, i * d, centroids, j * d, d) + bias[j]!;
          if (value > bestValue) {
            bestValue = value;
            best = j;
          }
        }
        block.nearest[i] = best;
        block.value[i] = bestValue;
      }
      return Promise.resolve();
    },
    products(block) {
      for (let i = 0; i < block.rowCount; i++) {
        for (let j = 0; j < block.k; j++)
          block.products[i * block.k + j] = dot(block.rows, i * d, block.centroids, j * d, d);
      }
      return Promise.resolve();
    },
    release() {
      return Promise.resolve();
    },
  };
}

/** Dot product of two length-`length` runs; four accumulators let V8 overlap the multiply-adds. */
export function dot(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 3 < length; t += 4) {
    s0 += a[aOffset + t]! * b[bOffset + t]!;
    s1 += a[aOffset + t + 1]! * b[bOffset + t + 1]!;
    s2 += a[aOffset + t + 2]! * b[bOffset + t + 2]!;
    s3 += a[aOffset + t + 3]! * b[bOffset + t + 3]!;
  }
  for (; t < length; t++) s0 += a[aOffset + t]! * b[bOffset + t]!;
  return s0 + s1 + s2 + s3;
}

const cachedModels = new Map<'nearest' | 'products', Uint8Array>();

/**
 * nearest: X[n,d], C[k,d], B[k] → nearest[n] (int64) = argmax_j (X·Cᵀ + B), value[n] = its max.
 * products: X[n,d], C[k,d] → products[n,k] = X·Cᵀ.
 */
function kernelModel(kind: 'nearest' | 'products'): Uint8Array {
  const cached = cachedModels.get(kind);
  if (cached) return cached;
  const { FLOAT, INT64 } = onnx.TensorProto.DataType;
  const { INT, INTS } = onnx.AttributeProto.AttributeType;
  const tensor = (name: string, elemType: number, dims: string[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType, shape: { dim: dims.map((dimParam) => ({ dimParam })) } } },
    });
  const transB = { name: 'transB', type: INT, i: 1 };
  const graph =
    kind === 'products'
      ? onnx.GraphProto.create({
          name: 'centroid_products',
          node: [
            onnx.NodeProto.create({ opType: 'Gemm', input: ['X', 'C'], output: ['products'], attribute: [transB] }),
          ],
          input: [tensor('X', FLOAT, ['n', 'd']), tensor('C', FLOAT, ['k', 'd'])],
          output: [tensor('products', FLOAT, ['n', 'k'])],
        })
      : onnx.GraphProto.create({
          name: 'nearest_centroid',
          node: [
            onnx.NodeProto.create({ opType: 'Gemm', input: ['X', 'C', 'B'], output: ['S'], attribute: [transB] }),
            onnx.NodeProto.create({
              opType: 'ArgMax',
              input: ['S'],
              output: ['nearest'],
              attribute: [
                { name: 'axis', type: INT, i: 1 },
                { name: 'keepdims', type: INT, i: 0 },
              ],
            }),
            onnx.NodeProto.create({
              opType: 'ReduceMax',
              input: ['S'],
              output: ['value'],
              attribute: [
                { name: 'axes', type: INTS, ints: [1] },
                { name: 'keepdims', type: INT, i: 0 },
              ],
            }),
          ],
          input: [tensor('X', FLOAT, ['n', 'd']), tensor('C', FLOAT, ['k', 'd']), tensor('B', FLOAT, ['k'])],
          output: [tensor('nearest', INT64, ['n']), tensor('value', FLOAT, ['n'])],
        });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'pathgen',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  cachedModels.set(kind, bytes);
  return bytes;
}
