import { describe, expect, it } from 'vitest';
import type { DescriptionContext } from '../../activities/histology/description-context.js';
import type { PatchMeasurements } from '../../activities/histology/patch-measurements.js';
import { contradictionRules, findContradiction } from '../../activities/histology/statement-checks.js';
import { measurements } from './measurement-fixtures.js';

const sparse = measurements({ nuclei: { count: 20, perMm2: 700 } });
const dense = measurements({ nuclei: { count: 200, perMm2: 7000 } });
const noFat = measurements({ fatFraction: 0 });
const fatty = measurements({ fatFraction: 0.45, tissueFraction: 0.5, whiteFraction: 0.5, lumenFraction: 0 });
const pale = measurements({ eosin: { mean: 0.05 }, eosinDominantFraction: 0.1 });
const rich = measurements({ eosin: { mean: 0.3 }, eosinDominantFraction: 0.9 });
const blank = measurements({
  tissueFraction: 0.01,
  whiteFraction: 0.99,
  lumenFraction: 0,
  nuclei: { count: 0, perMm2: 0 },
});
const luad = { project: 'TCGA-LUAD' };

/** The id of the rule that flags the sentence, if one does. */
function ruleOf(sentence: string, m: PatchMeasurements, context: DescriptionContext): string | undefined {
  const reason = findContradiction(sentence, m, context);
  if (reason === undefined) return undefined;
  return contradictionRules.find((rule) => rule.check(sentence.toLowerCase(), m, context) === reason)?.id;
}

describe('findContradiction', () => {
  it('catches dense or crowded nuclei claimed where nuclei are sparse', () => {
    for (const sentence of [
      'Densely packed nuclei fill the field.',
      'The tumor cells are closely packed with crowded nuclei.',
      'The specimen is hypercellular.',
      'Sheets of atypical cells are seen.',
      'Nuclei are crowded and overlapping.',
    ])
      expect(ruleOf(sentence, sparse, {}), sentence).toBe('crowded-nuclei-when-sparse');
    expect(findContradiction('Densely packed nuclei fill the field.', sparse, {})).toMatch(/sparse \(700 per mm²/);
  });

  it('lets the same claims through where nuclei are dense, and dense stroma where they are sparse', () => {
    expect(findContradiction('Densely packed nuclei fill the field.', dense, {})).toBeUndefined();
    expect(findContradiction('Dense fibrous stroma with scattered cells.', sparse, {})).toBeUndefined();
    expect(findContradiction('There is no nuclear crowding.', sparse, {})).toBeUndefined();
    expect(findContradiction('The stroma is densely eosinophilic.', sparse, {})).toBeUndefined();
  });

  it('catches sparse nuclei claimed where nuclei are dense, but not "a few" of a kind', () => {
    for (const sentence of ['Nuclei are sparse.', 'The field is hypocellular.', 'Few cells are present.'])
      expect(ruleOf(sentence, dense, {}), sentence).toBe('sparse-nuclei-when-dense');
    expect(findContradiction('A few cells show mitotic figures.', dense, {})).toBeUndefined();
    expect(findContradiction('Nuclei are sparse.', sparse, {})).toBeUndefined();
  });

  it('catches fat where the field has none, and a denial of fat where it is abundant', () => {
    for (const sentence of [
      'Abundant adipose tissue is seen.',
      'Mature adipocytes surround the tumor.',
      'Fatty tissue is present.',
    ])
      expect(ruleOf(sentence, noFat, {}), sentence).toBe('fat-when-absent');
    expect(findContradiction('Abundant adipose tissue is seen.', fatty, {})).toBeUndefined();
    expect(findContradiction('No adipose tissue is present.', noFat, {})).toBeUndefined();
    expect(findContradiction('Adipose tissue is not seen.', noFat, {})).toBeUndefined();
    expect(findContradiction('Hepatocytes show fatty change.', noFat, {})).toBeUndefined();
    expect(ruleOf('No adipose tissue is present.', fatty, {})).toBe('no-fat-when-present');
    expect(ruleOf('The tumor grows without intervening fat.', fatty, {})).toBe('no-fat-when-present');
  });

  it('catches strong or dominant eosin claimed on pale staining, and pale eosin claimed on rich staining', () => {
    for (const sentence of [
      'Eosinophilic stroma dominates the field.',
      'Abundant pink stroma surrounds the glands.',
      'The cytoplasm is intensely eosinophilic.',
    ])
      expect(ruleOf(sentence, pale, {}), sentence).toBe('eosin-rich-when-pale');
    expect(findContradiction('Eosinophilic stroma dominates the field.', rich, {})).toBeUndefined();
    expect(findContradiction('The cells have eosinophilic cytoplasm.', pale, {})).toBeUndefined();
    expect(findContradiction('A prominent eosinophilic infiltrate is present.', pale, {})).toBeUndefined();
    for (const sentence of [
      'Eosin staining is pale.',
      'The stroma is faintly pink.',
      'Cells have pale eosinophilic cytoplasm.',
    ])
      expect(ruleOf(sentence, rich, {}), sentence).toBe('eosin-pale-when-rich');
    expect(findContradiction('Eosin staining is pale.', pale, {})).toBeUndefined();
  });

  it("catches another organ than the project's", () => {
    expect(ruleOf('Sections of kidney show renal tubules.', measurements(), luad)).toBe('other-organ');
    expect(findContradiction('This is renal tissue.', measurements(), luad)).toBe(
      'names the kidney, but the slide is from the lung (TCGA-LUAD)',
    );
    expect(ruleOf('Breast ducts are seen.', measurements(), { project: 'KIRC' })).toBe('other-organ');
    expect(ruleOf('Colonic mucosa with crypts.', measurements(), { project: 'TCGA-PRAD' })).toBe('other-organ');
  });

  it('accepts the own organ, resection neighbours, lymph nodes, organs the findings name, and denials', () => {
    const ok = (sentence: string, project: string, findings?: string[]) =>
      expect(findContradiction(sentence, measurements(), { project, findings }), sentence).toBeUndefined();
    ok('Lung parenchyma with alveoli and a bronchiole.', 'TCGA-LUAD');
    ok('The tumor abuts the visceral pleura.', 'TCGA-LUSC');
    ok('Metastatic carcinoma in a lymph node.', 'TCGA-LUAD');
    ok('Rectal mucosa is present.', 'TCGA-COAD');
    ok('Normal adrenal cortex adjacent to the tumor.', 'TCGA-KIRC');
    ok('Benign prostatic glands are seen.', 'TCGA-BLCA');
    ok('Metastatic carcinoma in the liver.', 'TCGA-COAD', ['Metastatic adenocarcinoma involving liver']);
    ok('This is not renal tissue.', 'TCGA-LUAD');
    ok('Gallbladder wall with tumor.', 'TCGA-CHOL');
    ok('Tumor cells stain for thyroid transcription factor.', 'TCGA-LUAD');
    // Sarcoma, melanoma and lymphoma slides come from anywhere.
    ok('Tumor infiltrating the lung.', 'TCGA-SARC');
    ok('Metastatic melanoma in the liver.', 'TCGA-SKCM');
    // Without a project there is nothing to contradict.
    expect(findContradiction('Renal tubules.', measurements(), {})).toBeUndefined();
  });

  it('catches tissue described in a field that is almost all glass', () => {
    expect(ruleOf('Atypical glands infiltrate the stroma.', blank, {})).toBe('tissue-in-blank-field');
    expect(findContradiction('The field is empty background.', blank, {})).toBeUndefined();
  });

  it('passes consistent sentences and empty text', () => {
    const m = measurements();
    for (const sentence of [
      'The tissue is moderately cellular.',
      'Glandular structures with round nuclei are present.',
      'Stroma and cytoplasm stain a moderate pink.',
      '',
      '   ',
    ])
      expect(findContradiction(sentence, m, luad), sentence).toBeUndefined();
  });

  it('documents every rule with an id and a description', () => {
    const ids = contradictionRules.map((rule) => rule.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of contradictionRules) expect(rule.description.length).toBeGreaterThan(20);
  });
});
