// A fixed-length feature vector per patch for the select stage's model-free mode (k-means for
// diversity), and a tissue-quality score. Each feature is divided by a typical upper value so that
// ordinary H&E lands in about [0, 1] and no single feature dominates the Euclidean distance; values
// are clipped at 2 so that an artefact (a fold, ink) cannot stretch a cluster on its own.
import { meanNuclearAreaUm2, nucleiPerMm2 } from './description-thresholds.js';
import type { PatchMeasurements } from './patch-measurements.js';

interface FeatureSpec {
  name: string;
  /** Value / scale is the feature. */
  scale: number;
  value(m: PatchMeasurements): number;
}

const featureSpecs: readonly FeatureSpec[] = [
  { name: 'tissueFraction', scale: 1, value: (m) => m.tissueFraction },
  { name: 'whiteFraction', scale: 1, value: (m) => m.whiteFraction },
  { name: 'fatFraction', scale: 1, value: (m) => m.fatFraction },
  { name: 'lumenFraction', scale: 0.3, value: (m) => m.lumenFraction },
  { name: 'hematoxylinMean', scale: 0.4, value: (m) => m.hematoxylin.mean },
  { name: 'hematoxylinP90', scale: 1, value: (m) => m.hematoxylin.p90 },
  { name: 'eosinMean', scale: 0.3, value: (m) => m.eosin.mean },
  { name: 'eosinP90', scale: 0.4, value: (m) => m.eosin.p90 },
  { name: 'eosinDominantFraction', scale: 1, value: (m) => m.eosinDominantFraction },
  // Per mm² and µm² at the patch's mpp, or at the assumed 0.25 µm/px: within one slide all patches share it.
  { name: 'nucleiPerMm2', scale: 8000, value: nucleiPerMm2 },
  {
    name: 'nuclearAreaFraction',
    scale: 0.4,
    value: (m) => (m.nuclei.count * m.nuclei.meanAreaPx) / (m.widthPx * m.heightPx),
  },
  { name: 'meanNuclearAreaUm2', scale: 100, value: meanNuclearAreaUm2 },
  { name: 'nuclearAreaCv', scale: 1, value: (m) => m.nuclei.areaCv },
  { name: 'edgeDensity', scale: 0.3, value: (m) => m.edgeDensity },
];

export const measurementFeatureNames: readonly string[] = featureSpecs.map((spec) => spec.name);

export function measurementFeatures(m: PatchMeasurements): Float32Array {
  const features = new Float32Array(featureSpecs.length);
  featureSpecs.forEach((spec, i) => {
    const scaled = spec.value(m) / spec.scale;
    features[i] = Number.isFinite(scaled) ? Math.min(2, Math.max(0, scaled)) : 0;
  });
  return features;
}

/** The constants of tissueQuality. */
export const tissueQualitySettings = {
  /** Tissue fraction at which coverage reaches full marks. */
  fullCoverage: 0.7,
  /** Hematoxylin + eosin mean OD below which a patch is under-stained (linear ramp from 0). */
  adequateStain: 0.2,
  /** Above `overStainStart` total OD, stain quality falls linearly to 0 at `overStainEnd` (folds, ink, debris). */
  overStainStart: 1.0,
  overStainEnd: 1.8,
  /** Edge density at which sharpness reaches full marks; a blurred patch has few edges. */
  sharpEdgeDensity: 0.04,
  /** Weight left to a patch with no edges at all (smooth stroma is still tissue). */
  blurFloor: 0.6,
} as const;

const clamp01 = (value: number): number => Math.min(1, Math.max(0, value));

/**
 * quality = coverage × stain × (blurFloor + (1 − blurFloor) × sharpness), each in [0, 1]:
 * coverage = tissueFraction / fullCoverage; stain = (H + E mean OD) / adequateStain, reduced linearly
 * from overStainStart to 0 at overStainEnd; sharpness = edgeDensity / sharpEdgeDensity (all clipped to [0, 1]).
 * Fat counts against coverage: adipose fields carry little morphology for captions.
 */
export function tissueQuality(m: PatchMeasurements): number {
  const q = tissueQualitySettings;
  const coverage = clamp01(m.tissueFraction / q.fullCoverage);
  const stainOd = m.hematoxylin.mean + m.eosin.mean;
  const stain =
    clamp01(stainOd / q.adequateStain) *
    clamp01(1 - (stainOd - q.overStainStart) / (q.overStainEnd - q.overStainStart));
  const sharpness = clamp01(m.edgeDensity / q.sharpEdgeDensity);
  const quality = coverage * stain * (q.blurFloor + (1 - q.blurFloor) * sharpness);
  return Number.isFinite(quality) ? quality : 0;
}
