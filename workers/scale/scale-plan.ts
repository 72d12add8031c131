import { createHash } from 'node:crypto';
import { sampleKey } from '../../activities/export/sample-key.js';

// The scale benchmark's cohort, decided by ids alone: which slides fail, where each slide's patches
// lie and which of them fail. The doubles (scale-doubles.ts) follow it while the run runs; the
// benchmark (bench/scale.ts) derives the expected sample set from it afterwards, independently of
// any counter the run keeps, and checks the exported shards against that set.

export interface ScalePlan {
  slides: number;
  patchesPerSlide: number;
  /** Share of slides, and of the other slides' patches, that fail with a typed reason. */
  failRate: number;
}

/** Patches are laid out on a 672-px grid, 16 to a row: real coordinates, distinct per slide. */
const patchSide = 672;
const perRow = 16;

export const scaleFailureReasons = { slide: 'SlideUnreadable', patch: 'ModelOutputInvalid' } as const;

export function scaleSlideId(index: number): string {
  return `scale-${String(index).padStart(6, '0')}`;
}

export function scalePatchPosition(index: number): { x: number; y: number; id: string } {
  const x = (index % perRow) * patchSide;
  const y = Math.floor(index / perRow) * patchSide;
  return { x, y, id: `${x}_${y}` };
}

/** A number in [0, 1) fixed by the text: the same decision in every process and every attempt. */
function unitHash(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) / 2 ** 32;
}

export function slideFails(plan: Pick<ScalePlan, 'failRate'>, slideId: string): boolean {
  return plan.failRate > 0 && unitHash(`slide:${slideId}`) < plan.failRate;
}

export function patchFails(plan: Pick<ScalePlan, 'failRate'>, slideId: string, patchId: string): boolean {
  return plan.failRate > 0 && unitHash(`patch:${slideId}/${patchId}`) < plan.failRate;
}

/** Every sample key the export must hold, once each. */
export function* expectedSampleKeys(plan: ScalePlan): Generator<string> {
  for (let slide = 0; slide < plan.slides; slide++) {
    const slideId = scaleSlideId(slide);
    if (slideFails(plan, slideId)) continue;
    for (let patch = 0; patch < plan.patchesPerSlide; patch++) {
      const { x, y, id } = scalePatchPosition(patch);
      if (!patchFails(plan, slideId, id)) yield sampleKey(slideId, x, y);
    }
  }
}
