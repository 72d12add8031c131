import { reportLines } from './report-text.js';

// The built-in findings agent: deterministic extraction of the report's own phrases about the
// tissue, from synoptic "Key: value" lines and from free text. It finds what a pathologist writes
// in set terms (diagnosis, histologic type, grade, invasion, margins, lymph nodes, notable
// features), keeps the report's wording, and invents nothing.

export const builtinFindingsVersion = 'builtin-findings/1';
export const maxBuiltinFindings = 16;

type Category = 'type' | 'grade' | 'invasion' | 'margins' | 'nodes' | 'feature';
const categoryOrder: readonly Category[] = ['type', 'grade', 'invasion', 'margins', 'nodes', 'feature'];

interface Finding {
  category: Category;
  text: string;
}

const fieldCategories: readonly [RegExp, Category][] = [
  [/histolog\w* type|tumou?r type|histotype|histolog(?:y|ic subtype)|diagnosis|subtype|variant/, 'type'],
  [/grade|differentiation|gleason|nottingham|fuhrman|isup/, 'grade'],
  [/invasion|extension|infiltration|depth/, 'invasion'],
  [/margin/, 'margins'],
  [/lymph node|nodes? (?:examined|involved|positive)|regional nodes?/, 'nodes'],
  [
    /necrosis|mitos|mitotic|in situ|dcis|calcification|inflammat|lymphocyt|treatment effect|budding|additional (?:pathologic )?findings|extranodal/,
    'feature',
  ],
];
/** Keys whose values say nothing about how the tissue looks. */
const ignoredFields =
  /specimen|procedure|laterality|site|size|dimension|weight|focality|stage|ptnm|\bp?[tnm]\b|category|block|cassette|received|date|name|accession|physician|surgeon|clinical|history|quadrant|location|integrity/;

const tumourCore =
  'adenocarcinoma|carcinosarcoma|carcinoma in situ|carcinoma|cholangiocarcinoma|melanoma|glioblastoma|astrocytoma|oligodendroglioma|oligoastrocytoma|glioma|mesothelioma|(?:leiomyo|lipo|rhabdomyo|angio|osteo|chondro|fibro|myxofibro)?sarcoma|lymphoma|seminoma|thymoma|pheochromocytoma|paraganglioma|neuroendocrine tumou?r|germ cell tumou?r|teratoma|adenoma';
const tumourModifier =
  '(?:(?:well|moderately|poorly)[- ]differentiated|undifferentiated|invasive|infiltrating|metastatic|residual|high[- ]grade|low[- ]grade|papillary|mucinous|serous|endometrioid|clear[- ]cell|ductal|lobular|acinar|squamous[- ]cell|urothelial|renal[- ]cell|hepatocellular|small[- ]cell|large[- ]cell|signet[- ]ring[- ]cell|micropapillary|solid|keratinizing|non-?keratinizing|sarcomatoid|conventional|chromophobe|diffuse large b-cell|embryonal|mixed|medullary|tubular|follicular|anaplastic)';
const tumourPattern = new RegExp(
  `\\b((?:${tumourModifier}[,]?\\s+){0,4}(?:${tumourCore}))\\b(?:,?\\s+((?:[a-z-]+\\s+){0,2}(?:predominant|type|pattern|subtype|variant)))?`,
  'gi',
);
const gradePatterns = [
  /\b(?:well|moderately|poorly)[- ](?:to[- ](?:moderately|poorly)[- ])?differentiated\b|\bundifferentiated\b/gi,
  /\b(?:(?:nottingham|histologic|nuclear|fuhrman|isup|who|fnclcc|figo|combined)\s+)*grade\s*[:=]?\s*(?:[1-4]|i{1,3}v?|iv|g[1-4]|high|low|intermediate)\b(?:\s*(?:of|\/)\s*[34])?/gi,
  /\bgleason\s+(?:score|grade|pattern)?\s*[:=]?\s*\d\s*\+\s*\d(?:\s*=\s*\d{1,2})?/gi,
];
const invasionPattern =
  /\b((?:extraprostatic|extrathyroidal|extracapsular|extranodal|extrarenal)\s+extension|seminal vesicle invasion|(?:lympho-?vascular|angiolymphatic|lymphatic|vascular|venous|perineural|(?:visceral\s+)?pleural|capsular|extracapsular|extranodal|extrathyroidal|stromal|myometrial|lamina propria|muscularis propria|subserosal|perirenal|perineal|renal sinus|bone|cartilage)\s+(?:space\s+)?invasion)\b/gi;
const invadesPattern =
  /\b(?:tumou?r|carcinoma|it)?\s*(invad\w+|extends?|extending|infiltrat\w+)\s+(into|through|to|the)\s+((?:the\s+)?[a-z][a-z ]{2,60}?)(?=[,.;)]|\s+(?:and|with|but)\b|$)/gi;
const features: readonly [RegExp, string][] = [
  [/\b(?:tumou?r\s+)?necrosis\b|\bnecrotic\b/i, 'necrosis'],
  [/\bcomedo(?:-type)? necrosis\b/i, 'comedo necrosis'],
  [/\b(?:ductal carcinoma in situ|dcis)\b/i, 'ductal carcinoma in situ'],
  [/\blobular carcinoma in situ|\blcis\b/i, 'lobular carcinoma in situ'],
  [/\b(?:micro)?calcifications?\b/i, 'calcifications'],
  [/\btumou?r[- ]infiltrating lymphocytes\b|\blymphocytic infiltrat\w*/i, 'lymphocytic infiltrate'],
  [/\b(?:acute|chronic|granulomatous)\s+inflammation\b/i, ''],
  [/\bdesmoplas\w+/i, 'desmoplastic stroma'],
  [/\bfibrosis\b/i, 'fibrosis'],
  [/\bhemorrhage\b|\bhaemorrhage\b/i, 'hemorrhage'],
  [/\bkeratin(?:ization| pearls)\b/i, 'keratinization'],
  [/\bsignet[- ]ring cells?\b/i, 'signet ring cells'],
  [/\bsarcomatoid\b/i, 'sarcomatoid features'],
  [/\brhabdoid\b/i, 'rhabdoid features'],
  [/\btreatment effect\b/i, 'treatment effect'],
  [/\btumou?r budding\b/i, 'tumour budding'],
  [/\bemphysema\w*/i, 'emphysema'],
  [/\bcirrhosis\b/i, 'cirrhosis'],
  [/\bsteatosis\b/i, 'steatosis'],
  [/\b(?:high[- ]grade|low[- ]grade)?\s*dysplasia\b/i, ''],
  [/\b(?:intestinal|squamous|apocrine)\s+metaplasia\b/i, ''],
  [/\bmucin(?:ous)? (?:pools|lakes)|\bextracellular mucin\b/i, 'extracellular mucin'],
  [/\b(?:\d+\s+)?mito(?:ses|tic figures)\s+(?:per|\/)\s*(?:\d+\s+)?(?:hpf|high[- ]power fields?|mm2|mm²)/i, ''],
  [/\bpleomorphi\w+/i, 'nuclear pleomorphism'],
  [/\b(?:high|low)[- ]grade\s+(?:prostatic\s+)?intraepithelial neoplasia\b|\bh?g?pin\b/i, ''],
];
const degree =
  /\b(focal|extensive|marked|mild|moderate|severe|prominent|abundant|scattered|geographic|rare|numerous)\s+$/i;
const negation = /\b(?:no|not|without|negative|absent|free of|none|uninvolved|unremarkable)\b/i;

export function extractFindings(report: string): string[] {
  const found: Finding[] = [];
  for (const line of reportLines(report)) {
    if (line.kind === 'field') fromField(line.key, line.value, found);
    else fromSentence(line.text, found);
  }
  return finalise(found);
}

function fromField(key: string, value: string, found: Finding[]): void {
  const k = key.toLowerCase().replace(/\s+/g, ' ').trim();
  const category = fieldCategories.find(([pattern]) => pattern.test(k))?.[1];
  if (!category) {
    // A free-text diagnosis under a specimen heading ("Lung, lobectomy: invasive ..."): every sentence counts.
    if (!ignoredFields.test(k)) for (const sentence of value.split(/(?<=[.;])\s+/)) fromSentence(sentence, found);
    return;
  }
  const v = clean(value.split(';')[0] ?? '');
  if (!v || /^(?:n\/?a|not applicable|cannot be (?:assessed|determined))\.?$/i.test(v)) return;
  if (category === 'type' || (category === 'feature' && /findings/.test(k))) {
    const before = found.length;
    fromSentence(v, found);
    if (found.length === before) found.push({ category, text: lower(v) });
    return;
  }
  const normal = category === 'nodes' ? nodeFinding(v) : category === 'margins' ? marginFinding(v) : undefined;
  if (normal) {
    found.push({ category, text: normal });
    return;
  }
  if (category === 'grade' && /differentiated|grade|gleason/i.test(v)) {
    found.push({ category, text: lower(v) });
    return;
  }
  found.push({ category, text: `${k} ${lower(v)}` });
}

function fromSentence(sentence: string, found: Finding[]): void {
  const text = clean(sentence);
  if (/\blymph\s+nodes?\b/i.test(text)) {
    const nodes = nodeFinding(text);
    if (nodes) found.push({ category: 'nodes', text: nodes });
    return;
  }
  if (/\bmargins?\b/i.test(text)) {
    const margins = marginFinding(text);
    if (margins) found.push({ category: 'margins', text: margins });
    return;
  }
  for (const clause of text.split(/[;]|,\s+(?=but\b|however\b)|\bbut\b|\bhowever\b/i)) fromClause(clause, found);
}

/** Names of types that contain a negation word without negating anything. */
const notNegations = /\bno special type\b|\bnot otherwise specified\b/gi;

function fromClause(clause: string, found: Finding[]): void {
  const negated = negation.test(clause.replace(notNegations, ''));
  for (const match of clause.matchAll(tumourPattern)) {
    const name = [match[1], match[2]].filter(Boolean).join(', ');
    found.push({ category: 'type', text: negated ? `no ${lower(name)}` : lower(name) });
  }
  for (const pattern of gradePatterns)
    for (const match of clause.matchAll(pattern)) found.push({ category: 'grade', text: lower(match[0]) });
  for (const match of clause.matchAll(invasionPattern)) {
    const what = lower(match[1] ?? '');
    found.push({ category: 'invasion', text: negated ? `no ${what}` : `${what} present` });
  }
  if (!negated)
    for (const match of clause.matchAll(invadesPattern)) {
      const target = lower(match[3] ?? '').replace(/^the\s+/, '');
      if (target && !/^(?:margin|lymph)/.test(target))
        found.push({ category: 'invasion', text: `invasion ${lower(match[2] ?? 'into')} ${target}` });
    }
  for (const [pattern, name] of features) {
    const match = pattern.exec(clause);
    if (!match) continue;
    const base = name || lower(match[0]);
    const how = degree.exec(clause.slice(0, match.index))?.[1];
    found.push({ category: 'feature', text: negated ? `no ${base}` : how ? `${lower(how)} ${base}` : base });
  }
}

function nodeFinding(text: string): string | undefined {
  const ratio = /\(?\b(\d{1,3})\s*(?:\/|of)\s*(\d{1,3})\)?/.exec(text);
  if (ratio) return `${ratio[1]} of ${ratio[2]} lymph nodes involved`;
  if (/\bnegative\b|\bno (?:evidence of )?(?:metasta|tumou?r|carcinoma|malignan)|\bfree of\b|\bbenign\b/i.test(text))
    return 'lymph nodes negative for tumour';
  if (/metasta|\bpositive\b|\binvolved\b/i.test(text)) return 'lymph node metastasis';
  return undefined;
}

function marginFinding(text: string): string | undefined {
  const free = /\b(?:negative|free|uninvolved|clear|not involved|no (?:tumou?r|carcinoma|invasive))\b/i.test(text);
  const involved = /\b(?:positive|involved|involving|present at|extends? to|at the [a-z ]*margin)\b/i.test(text);
  if (free) return 'margins free of tumour';
  if (involved) return 'margin involved by tumour';
  return undefined;
}

function finalise(found: readonly Finding[]): string[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  const usable = found.filter((f) => f.text.length > 0 && f.text.length <= 120);
  for (const category of categoryOrder) {
    for (const finding of usable.filter((f) => f.category === category)) {
      const key = finding.text.toLowerCase();
      if (seen.has(key)) continue;
      // "adenocarcinoma" says less than "moderately differentiated adenocarcinoma": keep the longer.
      if (usable.some((other) => other.text.length > finding.text.length && containsWords(other.text, finding.text)))
        continue;
      seen.add(key);
      out.push(finding);
    }
  }
  return out.slice(0, maxBuiltinFindings).map((f) => f.text);
}

function containsWords(longer: string, shorter: string): boolean {
  const escaped = shorter.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?:^|\\W)${escaped}(?:\\W|$)`).test(longer.toLowerCase());
}

function clean(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/^[-*•\s]+/, '')
    .replace(/[\s.;:]+$/, '')
    .trim();
}

const acronyms = /^(?:dcis|lcis|pin|hgpin|hpf|her2|er|pr|tils?|who|isup|figo|fnclcc)$/i;

/** Lower case (reports are often all capitals), except for the acronyms pathologists write in capitals. */
function lower(text: string): string {
  return clean(text)
    .split(' ')
    .map((word) => (acronyms.test(word.replace(/[^\w]/g, '')) ? word.toUpperCase() : word.toLowerCase()))
    .join(' ');
}
