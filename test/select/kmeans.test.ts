import { describe, expect, it } from 'vitest';
import type { PathgenError } from '../../activities/common/errors.js';
import { clusterCount, kmeans, type KmeansResult } from '../../activities/select/index.js';
import { plantedClusters } from './synthetic-embeddings.js';

/** Each planted cluster maps to exactly one found cluster and no found cluster holds two. */
function recoversPlanted(result: KmeansResult, labels: Int32Array, planted: number): boolean {
  const foundOf = new Map<number, number>();
  const plantedOf = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    const found = result.assignments[i]!;
    if ((foundOf.get(label) ?? found) !== found || (plantedOf.get(found) ?? label) !== label) return false;
    foundOf.set(label, found);
    plantedOf.set(found, label);
  }
  return foundOf.size === planted;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('clusterCount', () => {
  it('gives ⌈√N⌉ for the paper and ⌈√(1.6 N/128)⌉ for the released code', () => {
    expect(clusterCount(20_000, 'sqrtPatches')).toBe(142);
    expect(clusterCount(20_000, 'sqrtBatches')).toBe(16);
    expect(clusterCount(10_000, 'sqrtPatches')).toBe(100);
    // 1.6 × 2000/128 = 25 exactly: no float noise pushes the ceiling to 6.
    expect(clusterCount(2000, 'sqrtBatches')).toBe(5);
    expect(clusterCount(600, 'sqrtPatches')).toBe(25);
  });

  it('clamps to [1, N], lets an explicit k win, and gives 0 for no candidates', () => {
    expect(clusterCount(0, 'sqrtPatches')).toBe(0);
    expect(clusterCount(1, 'sqrtPatches')).toBe(1);
    expect(clusterCount(10, 'sqrtBatches')).toBe(1);
    expect(clusterCount(500, 'sqrtPatches', 7)).toBe(7);
    expect(clusterCount(5, 'sqrtPatches', 50)).toBe(5);
    expect((rejectionSync(() => clusterCount(5, 'sqrtPatches', 0)) as PathgenError).code).toBe('InvalidInput');
  });
});

function rejectionSync(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('kmeans', () => {
  const data = plantedClusters({ clusters: 6, perCluster: 40, d: 32, noise: 0.3, seed: 11 });

  it('recovers well-separated planted clusters, with either backend, identically', async () => {
    for (const seed of [0, 1, 2, 3, 4]) {
      const onnx = await kmeans(data.embeddings, data.n, data.d, { k: 6, seed });
      const js = await kmeans(data.embeddings, data.n, data.d, { k: 6, seed, backend: 'js' });
      expect(recoversPlanted(onnx, data.labels, 6), `seed ${seed}`).toBe(true);
      expect(onnx.converged).toBe(true);
      expect(onnx.k).toBe(6);
      expect([...onnx.sizes]).toEqual([40, 40, 40, 40, 40, 40]);
      expect(onnx.centroids).toHaveLength(6 * data.d);
      expect(js.assignments).toEqual(onnx.assignments);
      expect(js.inertia).toBeCloseTo(onnx.inertia, 3);
    }
  });

  it('gives the same result for the same seed and another for another seed', async () => {
    const loose = plantedClusters({ clusters: 4, perCluster: 100, d: 16, noise: 3, seed: 5 });
    const run = (seed: number) => kmeans(loose.embeddings, loose.n, loose.d, { k: 12, seed });
    const [a, b, c] = await Promise.all([run(1), run(1), run(2)]);
    expect(b.assignments).toEqual(a.assignments);
    expect(b.centroids).toEqual(a.centroids);
    expect(b.iterations).toBe(a.iterations);
    expect(c.assignments).not.toEqual(a.assignments);
  });

  it('stops at maxIterations without claiming convergence', async () => {
    const loose = plantedClusters({ clusters: 4, perCluster: 100, d: 16, noise: 3, seed: 5 });
    const result = await kmeans(loose.embeddings, loose.n, loose.d, { k: 20, maxIterations: 1, tolerance: 0 });
    expect(result.iterations).toBe(1);
    expect(result.converged).toBe(false);
    expect(result.sizes.reduce((sum, size) => sum + size, 0)).toBe(loose.n);
  });

  it('finds fewer clusters than asked when there are fewer distinct points', async () => {
    const row = data.embeddings.subarray(0, data.d);
    const identical = new Float32Array(10 * data.d);
    for (let i = 0; i < 10; i++) identical.set(row, i * data.d);
    const result = await kmeans(identical, 10, data.d, { k: 4 });
    expect(result.k).toBe(1);
    expect([...result.assignments]).toEqual(new Array(10).fill(0));
    expect(result.inertia).toBe(0);
  });

  it('handles no rows, one row, and k above N', async () => {
    const none = await kmeans(new Float32Array(0), 0, 8, { k: 3 });
    expect(none).toMatchObject({ k: 0, iterations: 0, converged: true });
    expect(none.assignments).toHaveLength(0);
    const one = await kmeans(data.embeddings.subarray(0, data.d), 1, data.d, { k: 3 });
    expect(one.k).toBe(1);
    expect([...one.assignments]).toEqual([0]);
    const few = await kmeans(data.embeddings.subarray(0, 3 * data.d), 3, data.d, { k: 10 });
    expect(few.k).toBe(3);
    expect(new Set(few.assignments).size).toBe(3);
  });

  it('reports progress and lets timers run while it works', async () => {
    const big = plantedClusters({ clusters: 30, perCluster: 100, d: 64, noise: 2, seed: 9 });
    const phases = new Set<string>();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const result = await kmeans(big.embeddings, big.n, big.d, {
      k: 55,
      backend: 'js',
      onProgress: (progress) => phases.add(progress.phase),
    });
    clearInterval(timer);
    expect(result.iterations).toBeGreaterThan(0);
    expect([...phases]).toEqual(['seeding', 'iterating']);
    expect(ticks).toBeGreaterThan(0);
  });

  it('stops with the abort reason when its signal is aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled by the test');
    const promise = kmeans(data.embeddings, data.n, data.d, {
      k: 6,
      signal: controller.signal,
      onProgress: () => controller.abort(reason),
    });
    expect(await rejection(promise)).toBe(reason);
  });

  it('rejects malformed input with InvalidInput', async () => {
    const cases: Promise<unknown>[] = [
      kmeans(new Float32Array(10), 3, 4, { k: 2 }),
      kmeans(new Float32Array(12), 3, 4, { k: 0 }),
      kmeans(new Float32Array(12), 3, 4, { k: 2, maxIterations: 0 }),
      kmeans(
        Float32Array.from({ length: 12 }, (_, i) => (i === 7 ? Number.NaN : 1)),
        3,
        4,
        { k: 2 },
      ),
    ];
    for (const promise of cases) expect(((await rejection(promise)) as PathgenError).code).toBe('InvalidInput');
  });
});
