// Hand-written measurements for the description and statement-check tests, so each test states
// exactly the numbers it is about. Defaults: a moderately cellular, moderately eosinophilic field
// of solid tissue at 0.25 µm/px.
import type { PatchMeasurements } from '../../activities/histology/patch-measurements.js';

export interface MeasurementOverrides extends Partial<Omit<PatchMeasurements, 'nuclei' | 'hematoxylin' | 'eosin'>> {
  nuclei?: Partial<PatchMeasurements['nuclei']>;
  hematoxylin?: Partial<PatchMeasurements['hematoxylin']>;
  eosin?: Partial<PatchMeasurements['eosin']>;
}

export function measurements(overrides: MeasurementOverrides = {}): PatchMeasurements {
  const { nuclei, hematoxylin, eosin, ...rest } = overrides;
  return {
    widthPx: 672,
    heightPx: 672,
    mpp: 0.25,
    tissueFraction: 0.95,
    whiteFraction: 0.05,
    fatFraction: 0,
    lumenFraction: 0.05,
    hematoxylin: { mean: 0.15, p90: 0.5, ...hematoxylin },
    eosin: { mean: 0.12, p90: 0.2, ...eosin },
    eosinDominantFraction: 0.5,
    edgeDensity: 0.08,
    ...rest,
    nuclei: { count: 100, perMm2: 3500, meanAreaPx: 600, meanAreaUm2: 37.5, areaCv: 0.45, ...nuclei },
  };
}
