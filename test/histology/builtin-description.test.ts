import { describe, expect, it } from 'vitest';
import { describeMeasurements, type Statement } from '../../activities/histology/builtin-description.js';
import { measurePatch } from '../../activities/histology/patch-measurements.js';
import { findContradiction } from '../../activities/histology/statement-checks.js';
import { tcgaProjectCodes } from '../../activities/tcga/tcga-projects.js';
import { measurements } from './measurement-fixtures.js';
import { syntheticPatch, uniformPatch, type SyntheticPatchSpec } from './synthetic-patches.js';

function describePatch(spec: SyntheticPatchSpec, project = 'TCGA-LUAD', findings?: string[]): Statement[] {
  const patch = syntheticPatch(spec);
  return describeMeasurements(measurePatch(patch.image, { mpp: patch.mpp }), { project, findings });
}

const text = (statements: Statement[]): string => statements.map((s) => s.text).join(' ');

describe('describeMeasurements on synthetic patches', () => {
  const dense = describePatch({ seed: 71, nucleiPerMm2: 6500 });
  const sparse = describePatch({ seed: 72, nucleiPerMm2: 800 });

  it('calls dense nuclei dense and sparse nuclei sparse', () => {
    expect(text(dense)).toContain('densely cellular, with closely packed nuclei');
    expect(text(dense)).not.toMatch(/sparse/);
    expect(text(sparse)).toContain('Nuclei are sparse and widely scattered.');
    expect(text(sparse)).not.toMatch(/dense/i);
  });

  it('calls eosin-rich stroma strongly eosinophilic and pale stroma pale', () => {
    const rich = text(describePatch({ seed: 73, nucleiPerMm2: 2500, stromaEosin: 0.32 }));
    const pale = text(describePatch({ seed: 74, nucleiPerMm2: 2500, stromaEosin: 0.05 }));
    expect(rich).toContain('strongly eosinophilic');
    expect(rich).not.toMatch(/pale/);
    expect(pale).toContain('Eosin staining is pale');
    expect(pale).not.toMatch(/eosinophilic/);
  });

  it('describes a fatty field as adipose and a glandular one by its lumina', () => {
    const fatty = text(describePatch({ seed: 75, nucleiPerMm2: 500, fatVacuoles: 8 }));
    expect(fatty).toContain('Adipose tissue occupies much of the field');
    expect(fatty).toContain('resembles mature adipose tissue');
    const glandular = text(describePatch({ seed: 76, nucleiPerMm2: 6500, lumina: 14 }));
    expect(glandular).toContain('Numerous clear spaces');
    expect(glandular).toContain('suggesting a gland-forming pattern');
    expect(text(dense)).not.toMatch(/adipo|fat/i);
  });

  it('orders morphology, then architecture, then organ and hedged diagnosis', () => {
    const topics = dense.map((s) => s.topic);
    const rank = (topic: Statement['topic']) =>
      topic === 'architecture' ? 1 : topic === 'organ' || topic === 'diagnosis' ? 2 : 0;
    expect(topics.map(rank)).toEqual([...topics.map(rank)].sort((a, b) => a - b));
    expect(topics).toContain('architecture');
    expect(dense.find((s) => s.topic === 'organ')?.text).toBe('Tissue from the lung.');
    expect(dense.find((s) => s.topic === 'diagnosis')?.text).toBe(
      'The cellular areas may represent lung adenocarcinoma.',
    );
  });

  it('gives every statement a basis of finite measurement values', () => {
    for (const statement of [...dense, ...sparse]) {
      expect(Object.keys(statement.basis).length, statement.text).toBeGreaterThan(0);
      for (const value of Object.values(statement.basis)) expect(Number.isFinite(value)).toBe(true);
    }
    expect(dense[0]?.basis.nucleiPerMm2).toBeGreaterThan(5000);
  });

  it('is deterministic', () => {
    expect(describePatch({ seed: 71, nucleiPerMm2: 6500 })).toEqual(dense);
  });
});

describe('describeMeasurements from measurements', () => {
  it('says only that a blank field is empty', () => {
    const statements = describeMeasurements(measurePatch(uniformPatch(64, 64)), { project: 'TCGA-LUAD' });
    expect(statements).toEqual([
      {
        text: 'The field is almost entirely empty background, with little or no tissue.',
        topic: 'space',
        basis: { sectionFraction: 0, whiteFraction: 1 },
      },
    ]);
  });

  it('describes nuclear size only with microns per pixel, and variation from the area CV', () => {
    const enlarged = text(describeMeasurements(measurements({ nuclei: { meanAreaUm2: 90, areaCv: 0.7 } }), {}));
    expect(enlarged).toContain('The nuclei are enlarged and vary markedly in size.');
    const noMpp = measurements({ mpp: undefined, nuclei: { perMm2: undefined, meanAreaUm2: undefined, areaCv: 0.2 } });
    expect(text(describeMeasurements(noMpp, {}))).toContain('The nuclei are fairly uniform in size.');
    expect(text(describeMeasurements(noMpp, {}))).not.toMatch(/nuclei are (mostly )?(enlarged|small)/);
  });

  it('adds a hedged statement for morphologic findings that fit, and skips the rest', () => {
    const statements = describeMeasurements(measurements({ nuclei: { perMm2: 6000 } }), {
      project: 'TCGA-LUAD',
      findings: [
        'Tumor size 3.2 cm',
        'Margins negative',
        'Acinar predominant adenocarcinoma.',
        'Metastatic renal cell carcinoma',
      ],
    });
    const diagnosis = statements.filter((s) => s.topic === 'diagnosis').map((s) => s.text);
    expect(diagnosis).toEqual([
      'The cellular areas may represent lung adenocarcinoma.',
      'The appearance may be in keeping with acinar predominant adenocarcinoma.',
    ]);
  });

  it('makes no diagnosis for a sparse or fatty field, and no organ sentence without a project', () => {
    const sparse = describeMeasurements(measurements({ nuclei: { perMm2: 500 } }), { project: 'TCGA-BRCA' });
    expect(sparse.some((s) => s.topic === 'diagnosis')).toBe(false);
    expect(sparse.find((s) => s.topic === 'organ')?.text).toBe('Tissue from the breast.');
    expect(describeMeasurements(measurements(), {}).some((s) => s.topic === 'organ')).toBe(false);
  });

  it('never contradicts itself, for any project and a range of fields', () => {
    const fields = [
      measurements(),
      measurements({ nuclei: { count: 0, perMm2: 0 } }),
      measurements({
        nuclei: { perMm2: 9000 },
        eosin: { mean: 0.02 },
        eosinDominantFraction: 0.05,
        hematoxylin: { mean: 0.4 },
      }),
      measurements({ nuclei: { perMm2: 500 }, fatFraction: 0.5, tissueFraction: 0.45, whiteFraction: 0.55 }),
      measurements({ eosin: { mean: 0.3 }, eosinDominantFraction: 0.9, edgeDensity: 0.01 }),
      measurements({ tissueFraction: 0.3, whiteFraction: 0.7, lumenFraction: 0, edgeDensity: 0.3 }),
    ];
    for (const project of tcgaProjectCodes)
      for (const m of fields) {
        const context = { project, findings: ['Poorly differentiated carcinoma'] };
        for (const statement of describeMeasurements(m, context))
          expect(findContradiction(statement.text, m, context), `${project}: ${statement.text}`).toBeUndefined();
      }
  });
});
