import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { PathgenError } from '../common/errors.js';
import type { CentroidKernels } from './centroid-kernels.js';

/** Squared distances at or below this × the mean squared norm count as zero (float32 GEMM noise). */
const coincidentEpsilon = 1e-5;

/** Row-blocked sweeps of the kernels over all rows, yielding to the event loop between blocks. */
export class DistancePass {
  readonly nearest: Int32Array;
  /** Squared distance of each row to its nearest centroid of the last assignment. */
  readonly distance: Float64Array;
  readonly squaredNorms: Float64Array;
  readonly epsilon: number;
  private readonly value: Float32Array;

  constructor(
    private readonly kernels: CentroidKernels,
    readonly embeddings: Float32Array,
    readonly n: number,
    readonly d: number,
    readonly signal: AbortSignal | undefined,
  ) {
    this.nearest = new Int32Array(n);
    this.distance = new Float64Array(n);
    this.value = new Float32Array(n);
    this.squaredNorms = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let t = i * d; t < i * d + d; t++) sum += embeddings[t]! * embeddings[t]!;
      // A NaN or infinity anywhere in the row shows up here, without a pass of its own.
      if (!Number.isFinite(sum)) {
        throw new PathgenError('InvalidInput', `embeddings hold a non-finite value in row ${i}`, { row: i });
      }
      this.squaredNorms[i] = sum;
      total += sum;
    }
    this.epsilon = coincidentEpsilon * Math.max(1, total / n);
  }

  /** Assigns every row to its nearest of the k centroids; returns the sum of squared distances. */
  async assign(centroids: Float32Array, k: number): Promise<number> {
    const bias = squaredNorms(centroids, k, this.d).map((squared) => -squared / 2);
    let inertia = 0;
    await this.sweep(k, async (start, end) => {
      await this.kernels.nearest({
        rows: this.embeddings.subarray(start * this.d, end * this.d),
        rowCount: end - start,
        centroids,
        k,
        bias,
        nearest: this.nearest.subarray(start, end),
        value: this.value.subarray(start, end),
      });
      for (let i = start; i < end; i++) {
        this.distance[i] = this.clamp(this.squaredNorms[i]! - 2 * this.value[i]!);
        inertia += this.distance[i]!;
      }
    });
    return inertia;
  }

  /** Row-major n × t squared distances of every row to each of t points. */
  async squaredDistances(points: Float32Array, t: number): Promise<Float32Array> {
    const norms = squaredNorms(points, t, this.d);
    const result = new Float32Array(this.n * t);
    await this.sweep(t, async (start, end) => {
      const products = result.subarray(start * t, end * t);
      await this.kernels.products({
        rows: this.embeddings.subarray(start * this.d, end * this.d),
        rowCount: end - start,
        centroids: points,
        k: t,
        products,
      });
      for (let i = start; i < end; i++) {
        for (let j = 0; j < t; j++) {
          const at = (i - start) * t + j;
          products[at] = this.clamp(this.squaredNorms[i]! + norms[j]! - 2 * products[at]!);
        }
      }
    });
    return result;
  }

  private clamp(squared: number): number {
    return squared > this.epsilon ? squared : 0;
  }

  private async sweep(columns: number, block: (start: number, end: number) => Promise<void>): Promise<void> {
    const blockRows = Math.max(1, Math.floor(this.kernels.blockWork / (this.d * Math.max(columns, 16))));
    for (let start = 0; start < this.n; start += blockRows) {
      this.signal?.throwIfAborted();
      await block(start, Math.min(this.n, start + blockRows));
      await yieldToEventLoop();
    }
  }
}

export function squaredNorms(points: Float32Array, count: number, d: number): Float32Array {
  const norms = new Float32Array(count);
  for (let j = 0; j < count; j++) {
    let sum = 0;
    for (let t = j * d; t < j * d + d; t++) sum += points[t]! * points[t]!;
    norms[j] = sum;
  }
  return norms;
}
