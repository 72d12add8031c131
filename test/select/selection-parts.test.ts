import { describe, expect, it } from 'vitest';
import type { PathgenError } from '../../activities/common/errors.js';
import {
  dropProbability,
  filterDuplicates,
  l2NormaliseRows,
  sampleClusters,
  scoreMatrix,
  selectRepresentatives,
  topRows,
} from '../../activities/select/index.js';
import { cosine, plantedClusters } from './synthetic-embeddings.js';

const unitRows = (rows: number[][]) => Float32Array.from(rows.flat());

describe('sampleClusters', () => {
  // Clusters 0 (5 members), 1 (3) and 2 (1), on a line so "nearest" is easy to check.
  const assignments = Int32Array.from([1, 0, 0, 2, 0, 1, 0, 1, 0]);
  const embeddings = Float32Array.from([5, 0, 1, 9, 2, 6, 3, 7, 4]);
  const centroids = Float32Array.from([2, 6, 9]);
  const input = { assignments, k: 3, embeddings, centroids, d: 1 };

  it('takes perCluster from each in rounds, larger clusters first, all of a smaller cluster', () => {
    const picks = sampleClusters(input, 2, 100, 'random', 1);
    expect(picks.map(({ cluster, rank }) => [cluster, rank])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
      [0, 2],
      [1, 2],
    ]);
    for (const pick of picks) expect(assignments[pick.index]).toBe(pick.cluster);
    expect(new Set(picks.map((pick) => pick.index)).size).toBe(5);
  });

  it('stops at the target and draws reproducibly for a seed', () => {
    expect(sampleClusters(input, 3, 4, 'random', 1)).toHaveLength(4);
    expect(sampleClusters(input, 3, 100, 'random', 9)).toEqual(sampleClusters(input, 3, 100, 'random', 9));
    const draws = new Set(
      [1, 2, 3, 4, 5, 6].map((seed) => JSON.stringify(sampleClusters(input, 2, 100, 'random', seed))),
    );
    expect(draws.size).toBeGreaterThan(1);
  });

  it('takes the members with the largest dot product with the centroid first in nearest mode', () => {
    // In one dimension with positive values, the largest product is the largest value.
    const picks = sampleClusters(input, 2, 100, 'nearest', 0);
    expect(picks.filter((pick) => pick.cluster === 0).map((pick) => embeddings[pick.index])).toEqual([4, 3]);
    expect(picks.filter((pick) => pick.cluster === 1).map((pick) => embeddings[pick.index])).toEqual([7, 6]);
  });
});

describe('filterDuplicates', () => {
  const rows = unitRows([
    [1, 0],
    [0.96, 0.28], // cosine 0.96 with row 0
    [0, 1],
    [0.6, 0.8], // cosine 0.6 with row 0, 0.8 with row 2
  ]);

  it('keeps the earlier of a pair above the threshold in priority order (greedy)', () => {
    expect(filterDuplicates([0, 1, 2, 3], rows, 2, 0.88, 'greedy', 0)).toEqual({
      kept: [0, 2, 3],
      dropped: [{ index: 1, keptIndex: 0, similarity: expect.closeTo(0.96, 5) }],
    });
    expect(filterDuplicates([1, 0, 2, 3], rows, 2, 0.88, 'greedy', 0).kept).toEqual([1, 2, 3]);
    expect(filterDuplicates([3, 2, 0], rows, 2, 0.7, 'greedy', 0).kept).toEqual([3, 0]);
    expect(filterDuplicates([0, 1], rows, 2, 0.88, 'off', 0)).toEqual({ kept: [0, 1], dropped: [] });
  });

  it('drops with a probability from ½ at the threshold to 1 for identical patches', () => {
    expect(dropProbability(0.88, 0.88)).toBe(0.5);
    expect(dropProbability(0.94, 0.88)).toBeCloseTo(0.75, 10);
    expect(dropProbability(1, 0.88)).toBe(1);
    expect(dropProbability(0.95, 1)).toBe(1);
    // Over many seeds, a pair at cosine 0.96 (p ≈ 0.83) is sometimes kept and mostly thinned.
    const kept = Array.from({ length: 200 }, (_, seed) =>
      filterDuplicates([0, 1], rows, 2, 0.88, 'probabilistic', seed),
    );
    const dropped = kept.filter((result) => result.dropped.length === 1).length;
    expect(dropped).toBeGreaterThan(140);
    expect(dropped).toBeLessThan(195);
  });
});

describe('scoreMatrix', () => {
  it('scores each image against each text as logitScale × cosine', () => {
    const images = plantedClusters({ clusters: 3, perCluster: 2, d: 8, noise: 1, seed: 3 });
    const texts = plantedClusters({ clusters: 2, perCluster: 2, d: 8, noise: 1, seed: 4 });
    const scores = scoreMatrix(images.embeddings, texts.embeddings, images.n, texts.n, 8, 100);
    expect(scores).toHaveLength(images.n * texts.n);
    for (let i = 0; i < images.n; i++) {
      for (let j = 0; j < texts.n; j++) {
        let product = 0;
        for (let t = 0; t < 8; t++) product += images.embeddings[i * 8 + t]! * texts.embeddings[j * 8 + t]!;
        expect(scores[i * texts.n + j]).toBeCloseTo(100 * product, 4);
      }
    }
    const same = scoreMatrix(images.embeddings, images.embeddings.subarray(0, 8), images.n, 1, 8);
    expect(same[0]).toBeCloseTo(100 * cosine(images.embeddings, 8, 0, 0), 4);
    expect(same[0]).toBeCloseTo(100, 4);
  });

  it('feeds selectRepresentatives and rejects mismatched shapes', async () => {
    const images = plantedClusters({ clusters: 4, perCluster: 10, d: 16, noise: 0.5, seed: 6 });
    const texts = plantedClusters({ clusters: 3, perCluster: 1, d: 16, noise: 0.1, seed: 7 });
    const attributeScores = scoreMatrix(images.embeddings, texts.embeddings, images.n, texts.n, 16);
    const selection = await selectRepresentatives(
      { count: images.n, dimension: 16, embeddings: images.embeddings, attributeScores },
      { topAttributes: 5 },
    );
    expect(selection.counts.attributes).toBe(5);
    expect(() => scoreMatrix(images.embeddings, texts.embeddings, images.n, texts.n + 1, 16)).toThrow(
      expect.objectContaining({ code: 'InvalidInput' }) as PathgenError,
    );
  });
});

describe('l2NormaliseRows', () => {
  it('scales a copy of each row to unit length and rejects a zero row', () => {
    const rows = Float32Array.from([3, 4, 0, -2]);
    expect([...l2NormaliseRows(rows, 2, 2)]).toEqual([0.6000000238418579, 0.800000011920929, 0, -1]);
    expect([...rows]).toEqual([3, 4, 0, -2]);
    expect(() => l2NormaliseRows(Float32Array.from([1, 0, 0, 0]), 2, 2)).toThrow(
      expect.objectContaining({ code: 'InvalidInput' }) as PathgenError,
    );
  });
});

describe('topRows', () => {
  it('ranks by score and breaks ties by index', () => {
    expect(topRows([3, 5, 5, 1, 4], 3)).toEqual([
      { index: 1, score: 5 },
      { index: 2, score: 5 },
      { index: 4, score: 4 },
    ]);
    expect(topRows([2, 1], 10)).toHaveLength(2);
  });
});
