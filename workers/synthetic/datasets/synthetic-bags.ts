import type { SlideBag } from '../../../activities/eval/abmil-model.js';
import type { SlideExample } from '../../../activities/eval/abmil-training.js';
import { seededRandom } from '../../../activities/common/seeded-random.js';

/** Standard normal draws (Box–Muller) from a seeded generator. */
export function seededNormal(seed: number): () => number {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export function normalBag(normal: () => number, patchCount: number, dim: number): SlideBag {
  return { features: Float32Array.from({ length: patchCount * dim }, normal), patchCount };
}

export interface ShiftedTask {
  examples: SlideExample[];
  /** Per slide, the patches moved along the direction (empty for negative slides). */
  shifted: number[][];
}

/**
 * Slides of random-normal patches; the positive half (label 1) has 3–5 patches moved `shift` along
 * one fixed unit direction. The label depends on those few patches only.
 */
export function shiftedPatchTask(options: { slides: number; dim: number; seed: number; shift?: number }): ShiftedTask {
  const { slides, dim, seed, shift = 4 } = options;
  const random = seededRandom(seed);
  const normal = seededNormal(seed + 1000);
  const direction = Float64Array.from({ length: dim }, seededNormal(7));
  const norm = Math.hypot(...direction);
  const examples: SlideExample[] = [];
  const shifted: number[][] = [];
  for (let s = 0; s < slides; s++) {
    const patchCount = 50 + Math.floor(random() * 151);
    const bag = normalBag(normal, patchCount, dim);
    const label = s % 2;
    const moved: number[] = [];
    if (label === 1) {
      const count = 3 + Math.floor(random() * 3);
      while (moved.length < count) {
        const k = Math.floor(random() * patchCount);
        if (!moved.includes(k)) moved.push(k);
      }
      for (const k of moved) {
        for (let i = 0; i < dim; i++) bag.features[k * dim + i]! += (shift * direction[i]!) / norm;
      }
    }
    examples.push({ bag, label });
    shifted.push(moved);
  }
  return { examples, shifted };
}

/** AUROC of scores for positives vs negatives (the Mann–Whitney statistic, ties count half). */
export function auroc(scores: number[], positives: boolean[]): number {
  let pairs = 0;
  let wins = 0;
  scores.forEach((p, i) => {
    if (!positives[i]) return;
    scores.forEach((n, j) => {
      if (positives[j]) return;
      pairs += 1;
      wins += p > n ? 1 : p === n ? 0.5 : 0;
    });
  });
  return wins / pairs;
}
