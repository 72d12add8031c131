import { describe, expect, it } from 'vitest';
import type { PathgenError } from '../../activities/common/errors.js';
import {
  kmeans,
  rowMaxima,
  rowSums,
  selectRepresentatives,
  type Selection,
  type SelectionInput,
  type SelectionOptions,
} from '../../activities/select/index.js';
import { cosine, plantedClusters, randomMatrix } from './synthetic-embeddings.js';

// A slide of 600 candidates in 12 tight planted clusters (many near-duplicates), scored against
// 20 attribute prompts and 5 findings.
const slide = plantedClusters({ clusters: 12, perCluster: 50, d: 32, noise: 0.35, seed: 21 });
const attributeScores = randomMatrix(slide.n, 20, 1, 10, 40);
const findingScores = randomMatrix(slide.n, 5, 2, 10, 40);
const clipInput: SelectionInput = {
  count: slide.n,
  dimension: slide.d,
  embeddings: slide.embeddings,
  attributeScores,
  findingScores,
};
const unlimited: SelectionOptions = { duplicateMode: 'off', maxPerSlide: 10_000 };

function expectedTop(scores: Float64Array, top: number): number[] {
  return [...scores.keys()].sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, top);
}

function indicesOf(selection: Selection, route: string): number[] {
  return selection.patches
    .filter((patch) => patch.routes.includes(route as never))
    .sort((a, b) => a.ranks[route as 'attributes']! - b.ranks[route as 'attributes']!)
    .map((patch) => patch.index);
}

function identicalRows(n: number, d: number): Float32Array {
  const rows = new Float32Array(n * d);
  for (let i = 0; i < n; i++) rows.set(slide.embeddings.subarray(0, d), i * d);
  return rows;
}

async function rejection(promise: Promise<unknown>): Promise<PathgenError | undefined> {
  try {
    await promise;
  } catch (error) {
    return error as PathgenError;
  }
  return undefined;
}

describe('selectRepresentatives', () => {
  it('keeps exactly the top 64 by the best attribute score and the top 64 by the summed finding scores', async () => {
    const selection = await selectRepresentatives(clipInput, unlimited);
    expect(selection.mode).toBe('clip');
    expect(selection.routes).toEqual(['attributes', 'findings', 'cluster']);
    expect(selection.counts).toMatchObject({ attributes: 64, findings: 64 });
    expect(indicesOf(selection, 'attributes')).toEqual(expectedTop(rowMaxima(attributeScores, slide.n, 20), 64));
    expect(indicesOf(selection, 'findings')).toEqual(expectedTop(rowSums(findingScores, slide.n, 5), 64));
    const patch = selection.patches.find((candidate) => candidate.routes.includes('findings'))!;
    expect(patch.scores.findingSum).toBeCloseTo(
      [0, 1, 2, 3, 4].reduce((sum, j) => sum + findingScores[patch.index * 5 + j]!, 0),
      3,
    );
  });

  it('takes max(1, ⌊256/k⌋) random patches from every cluster', async () => {
    const explicit = await selectRepresentatives(clipInput, { ...unlimited, k: 12, seed: 4 });
    expect(explicit).toMatchObject({ k: 12, kRequested: 12, perCluster: 21 });
    const clustering = await kmeans(slide.embeddings, slide.n, slide.d, { k: 12, seed: 4 });
    const perCluster = new Map<number, number>();
    for (const patch of explicit.patches.filter((candidate) => candidate.routes.includes('cluster'))) {
      expect(patch.cluster).toBe(clustering.assignments[patch.index]);
      perCluster.set(patch.cluster!, (perCluster.get(patch.cluster!) ?? 0) + 1);
    }
    expect([...perCluster.values()]).toEqual(new Array(12).fill(21));
    expect(explicit.counts.cluster).toBe(252);

    // The paper's k = ⌈√600⌉ = 25 gives ⌊256/25⌋ = 10 from each.
    const paper = await selectRepresentatives(clipInput, unlimited);
    expect(paper).toMatchObject({ kRequested: 25, perCluster: 10 });
    expect(paper.counts.cluster).toBe(paper.k * 10);
    // The released code's k = ⌈√(1.6 × 600/128)⌉ = 3 gives 85 from each, stopping at 256 (255 here).
    const released = await selectRepresentatives(clipInput, { ...unlimited, kPolicy: 'sqrtBatches' });
    expect(released).toMatchObject({ kRequested: 3, perCluster: 85 });
    expect(released.counts.cluster).toBe(255);
  });

  it('stops the cluster route at clusterTarget when k exceeds it', async () => {
    const selection = await selectRepresentatives(clipInput, { ...unlimited, k: 40, clusterTarget: 30 });
    expect(selection.perCluster).toBe(1);
    expect(selection.counts.cluster).toBe(30);
  });

  it('keeps at most 256, with no two kept patches above the duplicate threshold', async () => {
    const selection = await selectRepresentatives(clipInput);
    const kept = selection.patches.map((patch) => patch.index);
    expect(kept.length).toBeLessThanOrEqual(256);
    expect(selection.counts.duplicates).toBeGreaterThan(0);
    for (let a = 0; a < kept.length; a++) {
      for (let b = a + 1; b < kept.length; b++) {
        expect(cosine(slide.embeddings, slide.d, kept[a]!, kept[b]!)).toBeLessThanOrEqual(0.88);
      }
    }
    for (const { index, keptIndex, similarity } of selection.dropped.duplicates) {
      expect(similarity).toBeGreaterThan(0.88);
      expect(cosine(slide.embeddings, slide.d, index, keptIndex)).toBeCloseTo(similarity, 5);
    }
    const { union, duplicates, capped, selected } = selection.counts;
    expect(union - duplicates - capped).toBe(selected);
    expect(new Set(kept).size).toBe(kept.length);
  });

  it('records why each patch was chosen', async () => {
    const selection = await selectRepresentatives(clipInput, unlimited);
    for (const patch of selection.patches) {
      expect(patch.routes.length).toBeGreaterThan(0);
      expect(Object.keys(patch.ranks).sort()).toEqual([...patch.routes].sort());
      expect(patch.cluster).not.toBeNull();
      expect(patch.scores.attributeMax).toBeCloseTo(rowMaxima(attributeScores, slide.n, 20)[patch.index]!, 4);
      expect(patch.scores.quality).toBeNull();
    }
    expect(selection.patches.some((patch) => patch.routes.length > 1)).toBe(true);
  });

  it('puts ranked patches before cluster-only ones, so the cap cuts cluster picks first', async () => {
    const selection = await selectRepresentatives(clipInput, { duplicateMode: 'off', maxPerSlide: 100 });
    expect(selection.counts.selected).toBe(100);
    expect(selection.counts.capped).toBe(selection.counts.union - 100);
    const ranked = selection.patches.filter((patch) => patch.routes.some((route) => route !== 'cluster'));
    expect(ranked).toEqual(selection.patches.slice(0, ranked.length));
    expect(selection.patches[0]!.ranks.attributes ?? selection.patches[0]!.ranks.findings).toBe(1);
  });

  it('gives the same selection for the same seed and another for another seed', async () => {
    const [a, b, c] = await Promise.all([
      selectRepresentatives(clipInput, { seed: 7 }),
      selectRepresentatives(clipInput, { seed: 7 }),
      selectRepresentatives(clipInput, { seed: 8 }),
    ]);
    expect(b).toEqual(a);
    expect(c.patches.map((patch) => patch.index)).not.toEqual(a.patches.map((patch) => patch.index));
  });

  it('thins duplicates probabilistically: reproducible, never keeping identical copies', async () => {
    const greedy = await selectRepresentatives(clipInput, { seed: 3 });
    const first = await selectRepresentatives(clipInput, { seed: 3, duplicateMode: 'probabilistic' });
    const again = await selectRepresentatives(clipInput, { seed: 3, duplicateMode: 'probabilistic' });
    expect(again).toEqual(first);
    expect(first.counts.duplicates).toBeGreaterThan(0);
    expect(first.counts.duplicates).toBeLessThan(greedy.counts.duplicates);

    const copies = await selectRepresentatives(
      { count: 40, dimension: slide.d, embeddings: identicalRows(40, slide.d) },
      { duplicateMode: 'probabilistic' },
    );
    expect(copies.counts.selected).toBe(1);
  });

  it('works model-free: the quality ranking takes the place of the text routes', async () => {
    const quality = randomMatrix(slide.n, 1, 5);
    const selection = await selectRepresentatives(
      { count: slide.n, dimension: slide.d, embeddings: slide.embeddings, quality },
      { ...unlimited, topQuality: 50 },
    );
    expect(selection.mode).toBe('model-free');
    expect(selection.routes).toEqual(['quality', 'cluster']);
    expect(indicesOf(selection, 'quality')).toEqual(expectedTop(Float64Array.from(quality), 50));
    expect(selection.patches.every((patch) => patch.scores.attributeMax === null)).toBe(true);

    const forced = await selectRepresentatives({ ...clipInput, quality }, { ...unlimited, mode: 'model-free' });
    expect(forced.routes).toEqual(['quality', 'cluster']);
    expect(
      (
        await rejection(
          selectRepresentatives(
            { ...clipInput, attributeScores: undefined, findingScores: undefined },
            { mode: 'clip' },
          ),
        )
      )?.code,
    ).toBe('InvalidInput');
  });

  it('leaves the findings route out when the report has no findings', async () => {
    const selection = await selectRepresentatives({ ...clipInput, findingScores: new Float32Array(0) }, unlimited);
    expect(selection.routes).toEqual(['attributes', 'cluster']);
    expect(selection.counts.findings).toBe(0);
    expect(selection.patches.every((patch) => patch.scores.findingSum === null)).toBe(true);
  });

  it('returns an empty selection for no candidates', async () => {
    const selection = await selectRepresentatives({ count: 0, dimension: 8, embeddings: new Float32Array(0) });
    expect(selection).toMatchObject({ mode: 'model-free', k: 0, kRequested: 0, routes: [], patches: [] });
    expect(selection.counts).toMatchObject({ union: 0, selected: 0, cluster: 0 });
  });

  it('selects a single candidate by every route', async () => {
    const selection = await selectRepresentatives({
      count: 1,
      dimension: slide.d,
      embeddings: slide.embeddings.subarray(0, slide.d),
      attributeScores: new Float32Array([20, 25]),
      findingScores: new Float32Array([30]),
    });
    expect(selection.k).toBe(1);
    expect(selection.patches).toEqual([
      {
        index: 0,
        routes: ['attributes', 'findings', 'cluster'],
        ranks: { attributes: 1, findings: 1, cluster: 1 },
        cluster: 0,
        scores: { attributeMax: 25, findingSum: 30, quality: null },
      },
    ]);
  });

  it('keeps each patch once when there are fewer candidates than the targets', async () => {
    const n = 30;
    const input: SelectionInput = {
      count: n,
      dimension: slide.d,
      embeddings: slide.embeddings.subarray(0, n * slide.d),
      attributeScores: attributeScores.subarray(0, n * 20),
      findingScores: findingScores.subarray(0, n * 5),
    };
    const selection = await selectRepresentatives(input, { duplicateMode: 'off' });
    expect(selection.counts).toMatchObject({ attributes: n, findings: n, cluster: n, union: n, selected: n });
    expect(new Set(selection.patches.map((patch) => patch.index)).size).toBe(n);
  });

  it('keeps one of many identical candidates', async () => {
    const selection = await selectRepresentatives({
      count: 50,
      dimension: slide.d,
      embeddings: identicalRows(50, slide.d),
      attributeScores: randomMatrix(50, 3, 8),
    });
    expect(selection.k).toBe(1);
    expect(selection.counts.selected).toBe(1);
    expect(selection.counts.duplicates).toBe(selection.counts.union - 1);
  });

  it('rejects malformed input and options with InvalidInput', async () => {
    const unnormalised = Float32Array.from(slide.embeddings.subarray(0, 4 * slide.d), (value) => value * 2);
    const cases: [SelectionInput, SelectionOptions?][] = [
      [{ count: 4, dimension: slide.d, embeddings: unnormalised }],
      [{ count: 3, dimension: slide.d, embeddings: slide.embeddings.subarray(0, 4 * slide.d) }],
      [{ ...clipInput, attributeScores: new Float32Array(7) }],
      [{ ...clipInput, findingScores: findingScores.map((value, i) => (i === 3 ? Number.NaN : value)) }],
      [{ ...clipInput, quality: new Float32Array(slide.n).fill(1.5) }],
      [clipInput, { duplicateThreshold: 1.5 }],
      [clipInput, { topAttributes: -1 }],
      [clipInput, { kPolicy: 'sqrtEverything' as never }],
    ];
    for (const [input, options] of cases) {
      expect((await rejection(selectRepresentatives(input, options)))?.code).toBe('InvalidInput');
    }
  });
});
