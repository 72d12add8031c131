import { PathgenError } from '../common/errors.js';
import { clusterCount, sampleClusters, type ClusterPick, type KPolicy } from './cluster-sampling.js';
import { filterDuplicates, type DroppedDuplicate } from './duplicate-filter.js';
import { kmeans } from './kmeans.js';
import { rowMaxima, rowSums, topRows } from './rankings.js';
import { resolveSelectionOptions, type SelectionOptions } from './selection-options.js';

// PathGen's representative patches of one slide: the union of the top candidates by attribute
// prompts, the top candidates by report findings and a few candidates from every k-means cluster,
// thinned of near-duplicates and capped. Without a scoring model (model-free mode) a quality
// ranking (e.g. tissue fraction) takes the place of the two text routes.
//
// Priority order, used by the duplicate filter (the earlier patch is kept) and by the cap (the
// later patches go): first every patch chosen by a ranking route (attributes, findings, quality),
// by its best rank in those routes (ties: route order, then index), so the two text rankings
// interleave; then the cluster picks, in rounds over the clusters (see sampleClusters). Ranked
// patches come first because they are what the prompts asked for; the clusters fill the rest.

export type SelectionRoute = 'attributes' | 'findings' | 'quality' | 'cluster';
const routeOrder: readonly SelectionRoute[] = ['attributes', 'findings', 'quality', 'cluster'];

export interface SelectionInput {
  /** N candidates. */
  count: number;
  /** Width d of the embeddings. */
  dimension: number;
  /** Row-major N × d L2-normalised image embeddings. */
  embeddings: Float32Array;
  /** Row-major N × A scores against the attribute prompts (logitScale × cosine). */
  attributeScores?: Float32Array;
  /** Row-major N × F scores against the report's findings. */
  findingScores?: Float32Array;
  /** N values in [0, 1], e.g. the tissue fraction; ranks candidates in model-free mode. */
  quality?: ArrayLike<number>;
}

export interface SelectedPatch {
  /** Candidate index, 0 ≤ index < N. */
  index: number;
  /** Every route that chose it, in route order. */
  routes: SelectionRoute[];
  /** 1-based rank in each route that chose it (for the cluster route: the pick within its cluster). */
  ranks: Partial<Record<SelectionRoute, number>>;
  /** Its k-means cluster; null when the cluster route did not run. */
  cluster: number | null;
  scores: { attributeMax: number | null; findingSum: number | null; quality: number | null };
}

export interface Selection {
  mode: 'clip' | 'model-free';
  candidates: number;
  /** The routes that ran. */
  routes: SelectionRoute[];
  kPolicy: KPolicy;
  /** Clusters asked for and found (fewer when the candidates have fewer distinct embeddings). */
  kRequested: number;
  k: number;
  perCluster: number;
  kmeansIterations: number;
  counts: Record<SelectionRoute, number> & { union: number; duplicates: number; capped: number; selected: number };
  /** In priority order. */
  patches: SelectedPatch[];
  dropped: { duplicates: DroppedDuplicate[]; capped: number[] };
}

const unitNormTolerance = 1e-3;

export async function selectRepresentatives(input: SelectionInput, options: SelectionOptions = {}): Promise<Selection> {
  const config = resolveSelectionOptions(options);
  const { count: n, dimension: d, embeddings } = input;
  validateEmbeddings(n, d, embeddings);
  const attributes = scoreColumns('attributeScores', input.attributeScores, n);
  const findings = scoreColumns('findingScores', input.findingScores, n);
  const quality = input.quality === undefined ? undefined : validateQuality(input.quality, n);

  const hasText = attributes > 0 || findings > 0;
  if (config.mode === 'clip' && !hasText) {
    throw new PathgenError('InvalidInput', 'clip mode needs attribute or finding scores', { mode: config.mode });
  }
  const mode = config.mode === 'model-free' || (config.mode === 'auto' && !hasText) ? 'model-free' : 'clip';

  const attributeMax = mode === 'clip' && attributes > 0 ? rowMaxima(input.attributeScores!, n, attributes) : undefined;
  const findingSum = mode === 'clip' && findings > 0 ? rowSums(input.findingScores!, n, findings) : undefined;
  const rankings: [SelectionRoute, ArrayLike<number> | undefined, number][] = [
    ['attributes', attributeMax, config.topAttributes],
    ['findings', findingSum, config.topFindings],
    ['quality', mode === 'model-free' ? quality : undefined, config.topQuality],
  ];

  // Routes run in route order, so each patch's `routes` comes out in route order too.
  const chosen = new Map<number, SelectedPatch>();
  const choose = (index: number, route: SelectionRoute, rank: number) => {
    let patch = chosen.get(index);
    if (!patch) {
      patch = {
        index,
        routes: [],
        ranks: {},
        cluster: null,
        scores: {
          attributeMax: attributeMax?.[index] ?? null,
          findingSum: findingSum?.[index] ?? null,
          quality: quality?.[index] ?? null,
        },
      };
      chosen.set(index, patch);
    }
    patch.routes.push(route);
    patch.ranks[route] = rank;
  };

  const routes: SelectionRoute[] = [];
  const counts = { attributes: 0, findings: 0, quality: 0, cluster: 0 };
  for (const [route, scores, top] of rankings) {
    if (scores === undefined || top === 0 || n === 0) continue;
    routes.push(route);
    const ranked = topRows(scores, top);
    ranked.forEach(({ index }, position) => choose(index, route, position + 1));
    counts[route] = ranked.length;
  }

  const kRequested = config.clusterTarget > 0 ? clusterCount(n, config.kPolicy, config.k) : 0;
  let clusterPicks: ClusterPick[] = [];
  let clusters = { k: 0, perCluster: 0, iterations: 0 };
  if (kRequested > 0) {
    routes.push('cluster');
    const result = await kmeans(embeddings, n, d, {
      ...config.kmeans,
      k: kRequested,
      seed: config.seed,
      signal: config.signal,
      onProgress: config.onProgress,
    });
    const perCluster = Math.max(config.perClusterMin, Math.floor(config.clusterTarget / result.k));
    clusterPicks = sampleClusters(
      { assignments: result.assignments, k: result.k, embeddings, centroids: result.centroids, d },
      perCluster,
      config.clusterTarget,
      config.clusterSampling,
      deriveSeed(config.seed, 1),
    );
    clusterPicks.forEach(({ index, rank }) => choose(index, 'cluster', rank));
    for (const patch of chosen.values()) patch.cluster = result.assignments[patch.index]!;
    counts.cluster = clusterPicks.length;
    clusters = { k: result.k, perCluster, iterations: result.iterations };
  }

  const order = priorityOrder(chosen, clusterPicks);
  const filtered = filterDuplicates(
    order.map((patch) => patch.index),
    embeddings,
    d,
    config.duplicateThreshold,
    config.duplicateMode,
    deriveSeed(config.seed, 2),
  );
  const kept = filtered.kept.slice(0, config.maxPerSlide);
  const capped = filtered.kept.slice(config.maxPerSlide);

  return {
    mode,
    candidates: n,
    routes,
    kPolicy: config.kPolicy,
    kRequested,
    k: clusters.k,
    perCluster: clusters.perCluster,
    kmeansIterations: clusters.iterations,
    counts: {
      ...counts,
      union: chosen.size,
      duplicates: filtered.dropped.length,
      capped: capped.length,
      selected: kept.length,
    },
    patches: kept.map((index) => chosen.get(index)!),
    dropped: { duplicates: filtered.dropped, capped },
  };
}

function priorityOrder(chosen: Map<number, SelectedPatch>, clusterPicks: ClusterPick[]): SelectedPatch[] {
  const bestRank = (patch: SelectedPatch) => {
    let best = { rank: Infinity, route: routeOrder.length };
    for (const route of patch.routes) {
      const rank = patch.ranks[route]!;
      if (route !== 'cluster' && rank < best.rank) best = { rank, route: routeOrder.indexOf(route) };
    }
    return best;
  };
  const ranked = [...chosen.values()]
    .map((patch) => ({ patch, best: bestRank(patch) }))
    .filter(({ best }) => best.rank < Infinity)
    .sort((a, b) => a.best.rank - b.best.rank || a.best.route - b.best.route || a.patch.index - b.patch.index)
    .map(({ patch }) => patch);
  const rankedIndices = new Set(ranked.map((patch) => patch.index));
  const clusterOnly = clusterPicks
    .filter(({ index }) => !rankedIndices.has(index))
    .map(({ index }) => chosen.get(index)!);
  return [...ranked, ...clusterOnly];
}

/** Independent generator streams from one seed (k-means uses the seed itself). */
function deriveSeed(seed: number, stream: number): number {
  return (seed + Math.imul(stream, 0x9e3779b9)) >>> 0;
}

function validateEmbeddings(n: number, d: number, embeddings: Float32Array): void {
  if (!Number.isInteger(n) || n < 0) throw invalidInput(`count must be a non-negative integer, got ${n}`, { count: n });
  if (!Number.isInteger(d) || d < 1)
    throw invalidInput(`dimension must be a positive integer, got ${d}`, { dimension: d });
  if (embeddings.length !== n * d) {
    throw invalidInput(`embeddings hold ${embeddings.length} values, expected count × dimension = ${n * d}`, {
      count: n,
      dimension: d,
    });
  }
  // The duplicate filter and nearest-centroid sampling read dot products as cosines.
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let t = i * d; t < i * d + d; t++) sum += embeddings[t]! * embeddings[t]!;
    if (!(Math.abs(Math.sqrt(sum) - 1) <= unitNormTolerance)) {
      throw invalidInput(`embedding ${i} is not L2-normalised (norm ${Math.sqrt(sum)})`, { row: i });
    }
  }
}

function scoreColumns(name: string, scores: Float32Array | undefined, n: number): number {
  if (scores === undefined || scores.length === 0) return 0;
  if (n === 0 || scores.length % n !== 0) {
    throw invalidInput(`${name} hold ${scores.length} values, not a multiple of the ${n} candidates`, { name, n });
  }
  const columns = scores.length / n;
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]!)) {
      throw invalidInput(`${name} hold a non-finite value`, { name, row: Math.floor(i / columns) });
    }
  }
  return columns;
}

function validateQuality(quality: ArrayLike<number>, n: number): ArrayLike<number> {
  if (quality.length !== n) throw invalidInput(`quality holds ${quality.length} values for ${n} candidates`, { n });
  for (let i = 0; i < n; i++) {
    const value = quality[i]!;
    if (!(value >= 0 && value <= 1)) throw invalidInput(`quality ${i} is ${value}, not in [0, 1]`, { row: i, value });
  }
  return quality;
}

function invalidInput(message: string, details: Record<string, unknown>): PathgenError {
  return new PathgenError('InvalidInput', message, details);
}
