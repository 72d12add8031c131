import { PathgenError } from '../common/errors.js';
import type { ClusterSampling, KPolicy } from './cluster-sampling.js';
import type { DuplicateMode } from './duplicate-filter.js';
import type { KmeansOptions } from './kmeans.js';

/**
 * `clip`: the attribute and finding routes rank candidates by their text scores. `model-free`: no
 * scoring model; the quality route (e.g. tissue fraction) takes their place. `auto` (default):
 * `clip` when any text scores are given, else `model-free`.
 */
export type SelectionMode = 'auto' | 'clip' | 'model-free';

export interface SelectionOptions {
  /** Attribute route: the top N by the best attribute score (PathGen: 64; 0 turns it off). */
  topAttributes?: number;
  /** Finding route: the top N by the summed finding scores (PathGen: 64; 0 turns it off). */
  topFindings?: number;
  /** Model-free quality route: the top N by quality (default 128, the two text routes' share). */
  topQuality?: number;
  /** Number of k-means clusters (default `sqrtPatches`, the paper); an explicit `k` wins. */
  kPolicy?: KPolicy;
  k?: number;
  /** Each cluster gives max(perClusterMin, ⌊clusterTarget/k⌋) patches (PathGen: 1). */
  perClusterMin?: number;
  /** The cluster route stops at this many patches (PathGen: 256; 0 turns the route off). */
  clusterTarget?: number;
  /** How patches are taken inside a cluster (PathGen: random). */
  clusterSampling?: ClusterSampling;
  /** Kept patches whose image cosine is above this are near-duplicates (PathGen: 0.88). */
  duplicateThreshold?: number;
  duplicateMode?: DuplicateMode;
  /** At most this many patches per slide (PathGen: 256). */
  maxPerSlide?: number;
  /** Seeds k-means, the cluster draws and the probabilistic duplicate filter (default 0). */
  seed?: number;
  mode?: SelectionMode;
  /** Lloyd iterations, tolerance, and where the distance products run. */
  kmeans?: Pick<KmeansOptions, 'maxIterations' | 'tolerance' | 'backend' | 'threads'>;
  signal?: AbortSignal;
  onProgress?: KmeansOptions['onProgress'];
}

export const selectionDefaults = {
  topAttributes: 64,
  topFindings: 64,
  topQuality: 128,
  kPolicy: 'sqrtPatches',
  perClusterMin: 1,
  clusterTarget: 256,
  clusterSampling: 'random',
  duplicateThreshold: 0.88,
  duplicateMode: 'greedy',
  maxPerSlide: 256,
  seed: 0,
  mode: 'auto',
} as const satisfies Omit<SelectionOptions, 'k' | 'kmeans' | 'signal' | 'onProgress'>;

export type ResolvedSelectionOptions = Required<Omit<SelectionOptions, 'k' | 'kmeans' | 'signal' | 'onProgress'>> &
  Pick<SelectionOptions, 'k' | 'kmeans' | 'signal' | 'onProgress'>;

export function resolveSelectionOptions(options: SelectionOptions = {}): ResolvedSelectionOptions {
  const resolved: ResolvedSelectionOptions = { ...selectionDefaults, ...withoutUndefined(options) };
  for (const name of [
    'topAttributes',
    'topFindings',
    'topQuality',
    'clusterTarget',
    'maxPerSlide',
    'perClusterMin',
  ] as const) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value < 0)
      invalid(`${name} must be a non-negative integer, got ${value}`, name, value);
  }
  if (resolved.k !== undefined && (!Number.isInteger(resolved.k) || resolved.k < 1)) {
    invalid(`k must be a positive integer, got ${resolved.k}`, 'k', resolved.k);
  }
  if (!Number.isInteger(resolved.seed)) invalid(`seed must be an integer, got ${resolved.seed}`, 'seed', resolved.seed);
  const threshold = resolved.duplicateThreshold;
  if (!(threshold >= -1 && threshold <= 1)) {
    invalid(`duplicateThreshold must be a cosine in [-1, 1], got ${threshold}`, 'duplicateThreshold', threshold);
  }
  oneOf('kPolicy', resolved.kPolicy, ['sqrtPatches', 'sqrtBatches']);
  oneOf('clusterSampling', resolved.clusterSampling, ['random', 'nearest']);
  oneOf('duplicateMode', resolved.duplicateMode, ['greedy', 'probabilistic', 'off']);
  oneOf('mode', resolved.mode, ['auto', 'clip', 'model-free']);
  return resolved;
}

function oneOf(name: string, value: string, allowed: readonly string[]): void {
  if (!allowed.includes(value)) invalid(`${name} must be one of ${allowed.join(', ')}, got ${value}`, name, value);
}

function invalid(message: string, option: string, value: unknown): never {
  throw new PathgenError('InvalidInput', message, { option, value });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
