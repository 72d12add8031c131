// The one table of words-from-numbers: every adjective the built-in describe agent writes, and every
// judgement the statement checks make, comes from a level computed here. Values are chosen for H&E
// at 0.25–0.5 µm/px as measured by patch-measurements.ts (Ruifrok–Johnston OD, nuclei per mm² of
// tissue section).
import type { PatchMeasurements } from './patch-measurements.js';

export const descriptionThresholds = {
  /** Used for nuclear density and size when a patch has no mpp: PathGen's patches are level-0 reads of mostly 40× slides. */
  assumedMppUm: 0.25,
  /** Section (tissue + fat + lumina) below this fraction of the field: nearly blank, nothing else is described. */
  blankSectionFraction: 0.05,
  /** Nuclei per mm² of section: sparse < 2,000 ≤ moderate < 5,000 ≤ dense (stroma and fat sit well below, carcinoma and lymphoid sheets above). */
  nucleiPerMm2: { moderate: 2000, dense: 5000 },
  /** Size and variation are only described with at least this many nuclei. */
  minNucleiForSize: 12,
  /** Mean nuclear area in µm²: small < 25 (lymphocyte-sized and below), enlarged ≥ 70. */
  nuclearAreaUm2: { small: 25, enlarged: 70 },
  /** Coefficient of variation of nuclear area: uniform < 0.35, markedly variable ≥ 0.6. */
  nuclearAreaCv: { uniform: 0.35, variable: 0.6 },
  /** Mean eosin OD over tissue: pale < 0.08 ≤ moderate < 0.15 ≤ eosin-rich. */
  eosinMean: { moderate: 0.08, rich: 0.15 },
  /** Fraction of tissue pixels where eosin dominates: < 0.3 the field reads as basophilic; ≥ 0.5 eosinophilic tissue is abundant. */
  eosinDominant: { basophilic: 0.3, abundant: 0.5 },
  /** Mean hematoxylin OD over tissue above which a basophilic field is called so. */
  basophilicHematoxylinMean: 0.2,
  /** Fat fraction of the field: a few adipocytes ≥ 0.03, a substantial part ≥ 0.15, most of the field ≥ 0.4. */
  fatFraction: { present: 0.03, substantial: 0.15, predominant: 0.4 },
  /** Lumen fraction of the field: a few spaces ≥ 0.02, numerous ≥ 0.08. */
  lumenFraction: { present: 0.02, numerous: 0.08 },
  /** Glass (white that is neither fat nor lumen) above this fraction is mentioned. */
  backgroundFraction: 0.25,
  /** Edge density: smooth < 0.03, coarse ≥ 0.2. */
  edgeDensity: { smooth: 0.03, coarse: 0.2 },
  /** Statement checks: fat is absent below this fraction, and clearly present at or above the second. */
  fatAbsent: 0.01,
  fatClearlyPresent: 0.2,
  /** A field is stroma-predominant when sparse and at least this fraction of tissue is eosin-dominant. */
  stromalEosinDominant: 0.6,
} as const;

export type DensityLevel = 'none' | 'sparse' | 'moderate' | 'dense';
export type EosinLevel = 'pale' | 'moderate' | 'rich';
export type SizeLevel = 'small' | 'medium' | 'enlarged';
export type VariationLevel = 'uniform' | 'intermediate' | 'variable';

const t = descriptionThresholds;

function effectiveMpp(m: PatchMeasurements): number {
  return m.mpp ?? t.assumedMppUm;
}

/** Stained tissue plus fat and lumina: everything but glass. */
export function sectionFraction(m: PatchMeasurements): number {
  return m.tissueFraction + m.fatFraction + m.lumenFraction;
}

/** Glass and specks: white that is neither fat nor lumen. */
export function backgroundFraction(m: PatchMeasurements): number {
  return Math.max(0, m.whiteFraction - m.fatFraction - m.lumenFraction);
}

export function isBlank(m: PatchMeasurements): boolean {
  return sectionFraction(m) < t.blankSectionFraction;
}

/** Nuclei per mm² of section: measured when mpp is known, else estimated at the assumed mpp. */
export function nucleiPerMm2(m: PatchMeasurements): number {
  if (m.nuclei.perMm2 !== undefined) return m.nuclei.perMm2;
  const mpp = effectiveMpp(m);
  const sectionMm2 = sectionFraction(m) * m.widthPx * m.heightPx * mpp * mpp * 1e-6;
  return sectionMm2 > 0 ? m.nuclei.count / sectionMm2 : 0;
}

export function densityLevel(m: PatchMeasurements): DensityLevel {
  if (m.nuclei.count === 0) return 'none';
  const density = nucleiPerMm2(m);
  return density >= t.nucleiPerMm2.dense ? 'dense' : density >= t.nucleiPerMm2.moderate ? 'moderate' : 'sparse';
}

export function meanNuclearAreaUm2(m: PatchMeasurements): number {
  return m.nuclei.meanAreaUm2 ?? m.nuclei.meanAreaPx * effectiveMpp(m) ** 2;
}

/** Nuclear size, only when mpp is known and there are enough nuclei: a pixel size alone says nothing. */
export function sizeLevel(m: PatchMeasurements): SizeLevel | undefined {
  if (m.nuclei.meanAreaUm2 === undefined || m.nuclei.count < t.minNucleiForSize) return undefined;
  const area = m.nuclei.meanAreaUm2;
  return area < t.nuclearAreaUm2.small ? 'small' : area >= t.nuclearAreaUm2.enlarged ? 'enlarged' : 'medium';
}

export function variationLevel(m: PatchMeasurements): VariationLevel | undefined {
  if (m.nuclei.count < t.minNucleiForSize) return undefined;
  const cv = m.nuclei.areaCv;
  return cv < t.nuclearAreaCv.uniform ? 'uniform' : cv >= t.nuclearAreaCv.variable ? 'variable' : 'intermediate';
}

export function eosinLevel(m: PatchMeasurements): EosinLevel {
  const mean = m.eosin.mean;
  return mean >= t.eosinMean.rich ? 'rich' : mean >= t.eosinMean.moderate ? 'moderate' : 'pale';
}
