// Keyword and phrase rules that catch a sentence contradicting what was measured in its patch or
// what is known of its slide. Any backend's sentences go through them; the built-in revise agent
// deletes the statements they flag and reports why. Each rule is narrow on purpose: a rule that
// fires only on a clear clash (sparse nuclei called crowded, no fat called adipose, another organ
// named) can be trusted to delete; ambiguous words are left alone.
import { tcgaProject } from '../tcga/tcga-projects.js';
import {
  densityLevel,
  descriptionThresholds as t,
  eosinLevel,
  isBlank,
  nucleiPerMm2,
  sectionFraction,
} from './description-thresholds.js';
import type { DescriptionContext } from './description-context.js';
import type { PatchMeasurements } from './patch-measurements.js';

export interface ContradictionRule {
  id: string;
  /** What the rule catches, for people reading the revise agent's edit list. */
  description: string;
  /** `text` is the sentence in lower case with runs of white space collapsed. */
  check(text: string, m: PatchMeasurements, context: DescriptionContext): string | undefined;
}

/** The first reason the sentence contradicts the measurements or the slide's context, if any. */
export function findContradiction(
  sentence: string,
  m: PatchMeasurements,
  context: DescriptionContext,
): string | undefined {
  const text = sentence.toLowerCase().replace(/\s+/g, ' ').trim();
  if (text === '') return undefined;
  for (const rule of contradictionRules) {
    const reason = rule.check(text, m, context);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

// ---- Negation: a term is not asserted when a negating word sits just before it in its clause, or
// the clause goes on to deny it ("adipose tissue is not seen").

const clauseBreak = /[.;:!?]| but | whereas | while /g;
const negatorBefore = /\b(no|not|without|absent|absence|lack|lacks|lacking|devoid|free|nor|none|neither|never)\b/;
const denialAfter = /\b(is|are)\s+(absent|not)\b|\bnot (seen|present|identified|evident|observed|apparent)\b/;

function clauseAround(text: string, start: number, end: number): { before: string; after: string } {
  let from = 0;
  let to = text.length;
  for (const match of text.matchAll(clauseBreak)) {
    if (match.index + match[0].length <= start) from = match.index + match[0].length;
    else if (match.index >= end) {
      to = match.index;
      break;
    }
  }
  return { before: text.slice(from, start), after: text.slice(end, to) };
}

function isNegated(text: string, start: number, end: number): boolean {
  const { before, after } = clauseAround(text, start, end);
  const lastWords = before.trim().split(' ').slice(-4).join(' ');
  return negatorBefore.test(lastWords) || denialAfter.test(after);
}

/** Matches of `pattern` (which must be global) that the sentence asserts rather than denies. */
function asserted(text: string, pattern: RegExp): RegExpExecArray[] {
  return [...text.matchAll(pattern)].filter((match) => !isNegated(text, match.index, match.index + match[0].length));
}

function clauseOf(text: string, match: RegExpExecArray): string {
  const { before, after } = clauseAround(text, match.index, match.index + match[0].length);
  return before + match[0] + after;
}

const round = (value: number, digits = 2): string => value.toFixed(digits);

// ---- Cellularity

const cellNoun = '(?:nuclei|cells|lymphocytes)';
const denseClaim = new RegExp(
  [
    '\\b(?:hypercellular(?:ity)?|highly cellular|densely cellular|markedly cellular|(?:nuclear|cellular) crowding|crowded (?:nuclei|cells)|overlapping nuclei)\\b',
    `\\b(?:dense(?:ly)?|closely|tightly|crowded|packed|sheets? of)(?:\\s+[a-z-]+){0,2}?\\s+${cellNoun}\\b`,
    '\\b(?:nuclei|cells|cellularity)\\s+(?:are|is|appear|appears)\\s+(?:densely |closely |tightly )?(?:packed|crowded|dense|high)\\b',
  ].join('|'),
  'g',
);
const sparseClaim = new RegExp(
  [
    '\\b(?:hypocellular(?:ity)?|paucicellular(?:ity)?|sparsely cellular|low cellularity)\\b',
    '(?<!\\ba )\\b(?:sparse|scant|few)\\s+(?:nuclei|cells)\\b',
    '\\b(?:nuclei|cells|cellularity)\\s+(?:are|is|appear|appears)\\s+(?:sparse|scant|few|low)\\b',
  ].join('|'),
  'g',
);

// ---- Fat

const fatTerm = /\b(?:adipose|adipocytes?|fat|fatty(?! change)|lipomatous)\b/g;
const fatDenial =
  /\b(?:no|without|absence of|lack of|devoid of|free of)\s+(?:[a-z-]+\s+){0,2}?(?:adipose|adipocytes?|fat|fatty tissue)\b|\b(?:adipose tissue|adipocytes|fat)\s+(?:is|are)\s+(?:absent|not (?:seen|present|identified))\b/;

// ---- Eosin

const eosinTerm = /\b(?:eosinophilic(?! (?:infiltrat|inflamm|abscess|microabscess|granulocyte))|eosin|pink)\b/g;
const eosinStrength =
  /\b(?:dominat\w*|predominan\w*|abundant|rich|prominent|extensive|intense(?:ly)?|strong(?:ly)?|deep(?:ly)?|bright(?:ly)?|dense(?:ly)?|heav(?:y|ily)|marked(?:ly)?)\b/;
const paleEosin =
  /\b(?:pale|faint|weak|light)(?:ly)?[\s-]+(?:stained\s+|staining\s+)?(?:eosin\w*|pink)\b|\beosin(?:ophilic)?\s+(?:staining\s+)?(?:is|appears)\s+(?:pale|faint|weak)\b/;

// ---- Tissue content, for the blank-field rule

const tissueContent =
  /\b(?:nuclei|nucleus|nuclear|cells?|cellular\w*|stroma\w*|glands?|glandular|adipo\w*|fibrous|collagen\w*|epitheli\w*|tumou?r)\b/g;

// ---- Organs: words that name one, grouped by the organ names of tcga-projects.ts.

const organTerms: Readonly<Record<string, RegExp>> = {
  'adrenal gland': /\badrenal\b/,
  'urinary bladder': /(?<!gall )\bbladder\b|\burotheli(?:um|al)\b/,
  breast: /\b(?:breast|mammary)\b/,
  cervix: /\b(?:cervix|endocervi\w*|ectocervi\w*|exocervi\w*)\b/,
  'bile duct': /\b(?:bile ducts?|biliary|cholangi\w*|gall ?bladder)\b/,
  colon: /\b(?:colon|colonic|colorectal|caecum|cecum|caecal|cecal)\b/,
  rectum: /\b(?:rectum|rectal|colorectal)\b/,
  esophagus: /\bo?esophag\w*/,
  'head and neck': /\b(?:oral|tongue|laryn\w*|pharyn\w*|tonsil\w*|gingiva\w*|palate|buccal)\b/,
  kidney: /\b(?:kidneys?|renal|glomerul\w*|nephr\w*)\b/,
  brain: /\b(?:brain|cerebral|cerebrum|cerebell\w*|glial|neuropil)\b/,
  liver: /\b(?:liver|hepatocytes?|hepatocellular|hepatic (?:parenchyma|lobules?|plates?|sinusoids?))\b/,
  lung: /\b(?:lungs?|pulmonary|bronch\w*|alveoli)\b/,
  pleura: /\bpleural?\b/,
  ovary: /\b(?:ovary|ovaries|ovarian)\b/,
  pancreas: /\bpancrea(?:s|tic)\b/,
  prostate: /\bprostat(?:e|ic)\b/,
  skin: /\b(?:skin|epidermis|epidermal|dermis|dermal|cutaneous)\b/,
  stomach: /\b(?:stomach|gastric(?![- ]type))\b/,
  testis: /\b(?:testis|testes|testicular|seminiferous)\b/,
  thyroid: /\bthyroid\b(?! transcription)/,
  thymus: /\bthym(?:us|ic)\b/,
  endometrium: /\bendometri(?:um|al)\b/,
  uterus: /\b(?:uterus|uterine|myometri\w*)\b/,
  eye: /\b(?:eye|eyes|ocular|uvea|uveal|retina|retinal|conjunctiva\w*|sclera\w*)\b/,
};

/**
 * Organs a slide of a project may show besides its own: neighbours taken in the same resection
 * (lung and pleura, kidney and adrenal, bladder and prostate, a Whipple's pancreas, bile duct and
 * stomach, a hysterectomy's uterus, cervix and ovaries). Lymph nodes go with every project.
 */
const neighbours: Readonly<Record<string, readonly string[]>> = {
  lung: ['pleura'],
  pleura: ['lung'],
  thymus: ['lung', 'pleura'],
  colon: ['rectum'],
  rectum: ['colon'],
  endometrium: ['uterus', 'cervix', 'ovary'],
  uterus: ['endometrium', 'cervix', 'ovary'],
  cervix: ['uterus', 'endometrium'],
  ovary: ['uterus', 'endometrium'],
  liver: ['bile duct'],
  'bile duct': ['liver', 'pancreas'],
  pancreas: ['bile duct', 'stomach'],
  esophagus: ['stomach'],
  stomach: ['esophagus'],
  kidney: ['adrenal gland'],
  'adrenal gland': ['kidney'],
  'urinary bladder': ['prostate'],
  prostate: ['urinary bladder'],
};

/** Projects whose slides come from anywhere (sarcoma sites, melanoma metastases, extranodal lymphoma): no organ rule. */
const anySite = new Set(['soft tissue', 'skin', 'lymph node']);

function organsNamed(text: string): string[] {
  return Object.entries(organTerms)
    .filter(([, pattern]) => {
      const global = new RegExp(pattern.source, 'g');
      return asserted(text, global).length > 0;
    })
    .map(([organ]) => organ);
}

function otherOrgan(text: string, context: DescriptionContext): string | undefined {
  const project = context.project !== undefined ? tcgaProject(context.project) : undefined;
  if (project === undefined || anySite.has(project.organ)) return undefined;
  const allowed = new Set([project.organ, 'lymph node', ...(neighbours[project.organ] ?? [])]);
  for (const finding of context.findings ?? [])
    for (const organ of organsNamed(finding.toLowerCase())) allowed.add(organ);
  const foreign = organsNamed(text).find((organ) => !allowed.has(organ));
  return foreign === undefined
    ? undefined
    : `names the ${foreign}, but the slide is from the ${project.organ} (${project.code})`;
}

export const contradictionRules: readonly ContradictionRule[] = [
  {
    id: 'tissue-in-blank-field',
    description: 'describes tissue (cells, stroma, glands, fat) in a field that is almost all glass',
    check: (text, m) =>
      isBlank(m) && asserted(text, tissueContent).length > 0
        ? `describes tissue, but only ${round(sectionFraction(m) * 100, 0)}% of the field is tissue`
        : undefined,
  },
  {
    id: 'crowded-nuclei-when-sparse',
    description: 'calls nuclei dense, crowded or packed, or the field hypercellular, when nuclei are sparse or absent',
    check: (text, m) => {
      const level = densityLevel(m);
      if ((level !== 'sparse' && level !== 'none') || asserted(text, denseClaim).length === 0) return undefined;
      return `claims dense nuclei, but nuclei are ${level === 'none' ? 'absent' : 'sparse'} (${round(nucleiPerMm2(m), 0)} per mm², dense from ${t.nucleiPerMm2.dense})`;
    },
  },
  {
    id: 'sparse-nuclei-when-dense',
    description: 'calls nuclei sparse or few, or the field hypocellular, when nuclei are dense',
    check: (text, m) =>
      densityLevel(m) === 'dense' && asserted(text, sparseClaim).length > 0
        ? `claims sparse nuclei, but nuclei are dense (${round(nucleiPerMm2(m), 0)} per mm², sparse below ${t.nucleiPerMm2.moderate})`
        : undefined,
  },
  {
    id: 'fat-when-absent',
    description: 'mentions adipose tissue, adipocytes or fat when the field has no fat-like spaces',
    check: (text, m) =>
      m.fatFraction < t.fatAbsent && asserted(text, fatTerm).length > 0
        ? `mentions fat, but the field has no fat-like spaces (fat fraction ${round(m.fatFraction, 3)})`
        : undefined,
  },
  {
    id: 'no-fat-when-present',
    description: 'denies adipose tissue when fat fills a clear part of the field',
    check: (text, m) =>
      m.fatFraction >= t.fatClearlyPresent && fatDenial.test(text)
        ? `denies fat, but fat fills ${round(m.fatFraction * 100, 0)}% of the field`
        : undefined,
  },
  {
    id: 'eosin-rich-when-pale',
    description: 'calls eosinophilic or pink tissue abundant, dominant or intense when eosin staining is pale',
    check: (text, m) => {
      if (eosinLevel(m) !== 'pale') return undefined;
      const strong = asserted(text, eosinTerm).some((match) => eosinStrength.test(clauseOf(text, match)));
      return strong
        ? `claims strong or abundant eosin staining, but eosin is pale (mean OD ${round(m.eosin.mean, 3)}, moderate from ${t.eosinMean.moderate})`
        : undefined;
    },
  },
  {
    id: 'eosin-pale-when-rich',
    description: 'calls eosin staining pale, faint or weak when the tissue is eosin-rich',
    check: (text, m) =>
      eosinLevel(m) === 'rich' && paleEosin.test(text)
        ? `claims pale eosin staining, but the tissue is eosin-rich (mean OD ${round(m.eosin.mean, 3)}, rich from ${t.eosinMean.rich})`
        : undefined,
  },
  {
    id: 'other-organ',
    description:
      "names an organ other than the project's (or a resection neighbour, a lymph node, or an organ the findings name)",
    check: (text, _m, context) => otherOrgan(text, context),
  },
];
