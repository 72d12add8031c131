// The built-in describe agent: a deterministic description of a patch written only from its
// measurements and the slide's context, so that every statement can be traced to the numbers it
// rests on (its basis). The order follows PathGen's descriptions: morphology (nuclei, staining,
// spaces, texture), then architecture, then the organ and a hedged diagnosis. Adjectives come from
// the levels of description-thresholds.ts and from nowhere else.
import { tcgaProject } from '../tcga/tcga-projects.js';
import {
  backgroundFraction,
  densityLevel,
  descriptionThresholds as t,
  eosinLevel,
  isBlank,
  meanNuclearAreaUm2,
  nucleiPerMm2,
  sectionFraction,
  sizeLevel,
  variationLevel,
} from './description-thresholds.js';
import type { DescriptionContext } from './description-context.js';
import type { PatchMeasurements } from './patch-measurements.js';
import { findContradiction } from './statement-checks.js';

export interface Statement {
  text: string;
  topic: 'organ' | 'nuclei' | 'stroma' | 'space' | 'texture' | 'architecture' | 'diagnosis';
  /** The measurement values the statement rests on, by name. */
  basis: Record<string, number>;
}

/** At most this many findings become hedged statements. */
const maxFindingStatements = 2;

export function describeMeasurements(m: PatchMeasurements, context: DescriptionContext): Statement[] {
  if (isBlank(m))
    return [
      {
        text: 'The field is almost entirely empty background, with little or no tissue.',
        topic: 'space',
        basis: { sectionFraction: sectionFraction(m), whiteFraction: m.whiteFraction },
      },
    ];
  return [
    ...nucleiStatements(m),
    ...stainingStatements(m),
    ...spaceStatements(m),
    ...textureStatements(m),
    ...architectureStatements(m),
    ...organStatements(m, context),
    ...diagnosisStatements(m, context),
  ];
}

function nucleiStatements(m: PatchMeasurements): Statement[] {
  const density = nucleiPerMm2(m);
  const basis = { nucleiCount: m.nuclei.count, nucleiPerMm2: density };
  const level = densityLevel(m);
  const statements: Statement[] = [
    {
      text: {
        none: 'No distinct nuclei are identified.',
        sparse: 'Nuclei are sparse and widely scattered.',
        moderate: 'The tissue is moderately cellular.',
        dense: 'The tissue is densely cellular, with closely packed nuclei.',
      }[level],
      topic: 'nuclei',
      basis,
    },
  ];
  const size = sizeLevel(m);
  const variation = variationLevel(m);
  const sizeWord = size === 'small' ? 'small' : size === 'enlarged' ? 'enlarged' : undefined;
  const variationWords =
    variation === 'uniform' ? 'fairly uniform in size' : variation === 'variable' ? 'vary markedly in size' : undefined;
  let text: string | undefined;
  if (sizeWord !== undefined && variationWords !== undefined)
    text = `The nuclei are ${sizeWord} and ${variationWords}.`;
  else if (sizeWord !== undefined) text = `The nuclei are mostly ${sizeWord}.`;
  else if (variation === 'uniform') text = 'The nuclei are fairly uniform in size.';
  else if (variation === 'variable') text = 'The nuclei vary markedly in size.';
  if (text !== undefined)
    statements.push({
      text,
      topic: 'nuclei',
      basis: { nucleiCount: m.nuclei.count, meanNuclearAreaUm2: meanNuclearAreaUm2(m), nuclearAreaCv: m.nuclei.areaCv },
    });
  return statements;
}

function stainingStatements(m: PatchMeasurements): Statement[] {
  const basis = { eosinMean: m.eosin.mean, eosinDominantFraction: m.eosinDominantFraction };
  const level = eosinLevel(m);
  const statements: Statement[] = [];
  if (level === 'rich' && m.eosinDominantFraction >= t.eosinDominant.abundant) {
    const where = m.nuclei.count > 0 ? 'between the nuclei ' : '';
    statements.push({
      text: `The tissue ${where}is strongly eosinophilic, with abundant pink stroma or cytoplasm.`,
      topic: 'stroma',
      basis,
    });
  } else if (level === 'rich') {
    statements.push({ text: 'Where present, stroma and cytoplasm stain deeply eosinophilic.', topic: 'stroma', basis });
  } else if (level === 'moderate') {
    statements.push({ text: 'Stroma and cytoplasm stain a moderate pink.', topic: 'stroma', basis });
  } else {
    statements.push({
      text: 'Eosin staining is pale, with lightly stained stroma and cytoplasm.',
      topic: 'stroma',
      basis,
    });
  }
  if (m.eosinDominantFraction < t.eosinDominant.basophilic && m.hematoxylin.mean >= t.basophilicHematoxylinMean)
    statements.push({
      text: 'Overall the field is basophilic, dominated by hematoxylin staining.',
      topic: 'stroma',
      basis: { hematoxylinMean: m.hematoxylin.mean, eosinDominantFraction: m.eosinDominantFraction },
    });
  return statements;
}

function spaceStatements(m: PatchMeasurements): Statement[] {
  const statements: Statement[] = [];
  const fat = m.fatFraction;
  const fatText =
    fat >= t.fatFraction.predominant
      ? 'Adipose tissue occupies much of the field, as large, clear, rounded vacuoles.'
      : fat >= t.fatFraction.substantial
        ? 'Adipocytes form a substantial part of the field, seen as large, clear, rounded spaces.'
        : fat >= t.fatFraction.present
          ? 'A few adipocytes are present.'
          : undefined;
  if (fatText !== undefined) statements.push({ text: fatText, topic: 'space', basis: { fatFraction: fat } });
  const lumen = m.lumenFraction;
  const lumenText =
    lumen >= t.lumenFraction.numerous
      ? 'Numerous clear spaces lie enclosed within the tissue.'
      : lumen >= t.lumenFraction.present
        ? 'A few small clear spaces are enclosed within the tissue.'
        : undefined;
  if (lumenText !== undefined) statements.push({ text: lumenText, topic: 'space', basis: { lumenFraction: lumen } });
  const background = backgroundFraction(m);
  if (background >= t.backgroundFraction)
    statements.push({
      text:
        background >= 0.6
          ? 'Most of the field is empty background; tissue occupies only a small part.'
          : 'Tissue fills only part of the field; the rest is empty background.',
      topic: 'space',
      basis: { backgroundFraction: background, tissueFraction: m.tissueFraction },
    });
  return statements;
}

function textureStatements(m: PatchMeasurements): Statement[] {
  const basis = { edgeDensity: m.edgeDensity };
  if (m.edgeDensity < t.edgeDensity.smooth)
    return [{ text: 'The tissue looks smooth and homogeneous.', topic: 'texture', basis }];
  if (m.edgeDensity >= t.edgeDensity.coarse)
    return [{ text: 'The tissue has a coarse, heterogeneous texture.', topic: 'texture', basis }];
  return [];
}

function architectureStatements(m: PatchMeasurements): Statement[] {
  const level = densityLevel(m);
  const basis = {
    nucleiPerMm2: nucleiPerMm2(m),
    lumenFraction: m.lumenFraction,
    fatFraction: m.fatFraction,
    eosinDominantFraction: m.eosinDominantFraction,
  };
  let text: string | undefined;
  if (level === 'dense' && m.lumenFraction >= t.lumenFraction.present)
    text = 'The cells are arranged around enclosed spaces, suggesting a gland-forming pattern.';
  else if (level === 'dense' && m.fatFraction < t.fatFraction.present)
    text = 'The cells grow in solid, sheet-like areas without lumina.';
  else if ((level === 'sparse' || level === 'none') && m.fatFraction >= t.fatFraction.predominant)
    text = 'The overall pattern resembles mature adipose tissue.';
  else if (level === 'sparse' && m.eosinDominantFraction >= t.stromalEosinDominant)
    text = 'The field is predominantly stromal, with few cells.';
  else if (
    level === 'moderate' &&
    m.eosinDominantFraction >= t.eosinDominant.basophilic &&
    m.eosinDominantFraction < t.stromalEosinDominant
  )
    text = 'Cellular areas are intermixed with stroma.';
  return text === undefined ? [] : [{ text, topic: 'architecture', basis }];
}

function organStatements(m: PatchMeasurements, context: DescriptionContext): Statement[] {
  const project = context.project !== undefined ? tcgaProject(context.project) : undefined;
  if (project === undefined) return [];
  const text =
    project.organ === 'soft tissue'
      ? 'Soft tissue.'
      : project.organ === 'lymph node'
        ? 'Tissue from a lymph node.'
        : `Tissue from the ${project.organ}.`;
  return [{ text, topic: 'organ', basis: { sectionFraction: sectionFraction(m) } }];
}

const morphologicFinding =
  /\b(?:\w*carcinoma|\w*sarcoma|lymphoma|melanoma|\w*glioma|astrocytoma|mesothelioma|thymoma|seminoma|\w*blastoma|tumou?r|neoplas\w*|malignan\w*|grade|differentiated|necros\w*|necrotic|invasi\w*|infiltrat\w*|dysplas\w*|metaplas\w*|inflamma\w*|fibros\w*|desmoplas\w*|mitos\w*|mitotic|pleomorph\w*|papillary|glandular|solid|squamous|keratini[sz]\w*|mucinous|clear cell|lymphocyt\w*|hyperplas\w*)\b/;
/** Report items that are not about what a field shows: numbers, margins, stage, sizes, node counts. */
const nonMorphologicFinding = /\d|\bmargins?\b|\bstage\b|\bsize\b|\bexamined\b|\bspecimen\b|\bsubmitted\b/;

function diagnosisStatements(m: PatchMeasurements, context: DescriptionContext): Statement[] {
  const level = densityLevel(m);
  if ((level !== 'moderate' && level !== 'dense') || m.fatFraction >= t.fatFraction.predominant) return [];
  const basis = { nucleiPerMm2: nucleiPerMm2(m), sectionFraction: sectionFraction(m) };
  const statements: Statement[] = [];
  const project = context.project !== undefined ? tcgaProject(context.project) : undefined;
  if (project !== undefined)
    statements.push({ text: `The cellular areas may represent ${project.cancer}.`, topic: 'diagnosis', basis });
  const seen = new Set(project !== undefined ? [project.cancer.toLowerCase()] : []);
  for (const raw of context.findings ?? []) {
    if (statements.length - (project !== undefined ? 1 : 0) >= maxFindingStatements) break;
    const finding = raw.trim().replace(/[.;:,]+$/, '');
    const key = finding.toLowerCase();
    if (finding === '' || seen.has(key)) continue;
    if (!morphologicFinding.test(key) || nonMorphologicFinding.test(key)) continue;
    // Checked against the project alone: a finding may not vouch for an organ it names itself.
    const projectOnly = context.project !== undefined ? { project: context.project } : {};
    if (findContradiction(finding, m, projectOnly) !== undefined) continue;
    seen.add(key);
    statements.push({
      text: `The appearance may be in keeping with ${sentenceCase(finding)}.`,
      topic: 'diagnosis',
      basis,
    });
  }
  return statements;
}

/** Lower-cases the first letter unless the first word looks like an acronym (two capitals). */
function sentenceCase(text: string): string {
  return /^[A-Z]{2}/.test(text) ? text : text.charAt(0).toLowerCase() + text.slice(1);
}
