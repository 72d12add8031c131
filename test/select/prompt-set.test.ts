import { describe, expect, it } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';
import {
  attributePrompts,
  attributePromptsVersion,
  buildPromptSet,
  normaliseFindings,
} from '../../activities/select/index.js';

function errorCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof PathgenError ? (error as PathgenError).code : 'not a PathgenError';
  }
  return undefined;
}

describe('buildPromptSet', () => {
  it("holds the project's attribute prompts and the slide's findings, trimmed and deduplicated", () => {
    const set = buildPromptSet({
      project: 'luad',
      findings: ['  acinar pattern ', '', 'acinar   pattern', 'Acinar pattern', '   ', 'pleural invasion'],
    });
    expect(set.project).toBe('TCGA-LUAD');
    expect(set.attributes).toEqual(attributePrompts('TCGA-LUAD'));
    expect(set.findings).toEqual(['acinar pattern', 'pleural invasion']);
    expect(set.version).toBe(attributePromptsVersion);
    expect(set.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is deeply frozen', () => {
    const set = buildPromptSet({ project: 'TCGA-COAD', findings: ['mucinous component'] });
    expect(Object.isFrozen(set)).toBe(true);
    expect(Object.isFrozen(set.attributes)).toBe(true);
    expect(Object.isFrozen(set.findings)).toBe(true);
    expect(() => (set.findings as string[]).push('leak')).toThrow(TypeError);
    expect(() => (set.attributes as string[]).push('leak')).toThrow(TypeError);
  });

  it("never lets one slide's findings reach another slide's set (the released code did)", () => {
    const before = [...attributePrompts('TCGA-BRCA')];
    const findingsA = ['ductal carcinoma in situ'];
    const first = buildPromptSet({ project: 'TCGA-BRCA', findings: findingsA });
    const second = buildPromptSet({ project: 'TCGA-BRCA', findings: ['lobular carcinoma'] });
    const third = buildPromptSet({ project: 'TCGA-BRCA' });
    findingsA.push('added to the caller array afterwards');

    expect(first.findings).toEqual(['ductal carcinoma in situ']);
    expect(second.findings).toEqual(['lobular carcinoma']);
    expect(third.findings).toEqual([]);
    expect(second.attributes).toEqual(before);
    expect(third.attributes).toEqual(before);
    expect(attributePrompts('TCGA-BRCA')).toEqual(before);
    expect(first.attributes).not.toBe(second.attributes);
  });

  it('hashes the set: equal inputs give equal hashes, other findings or projects another', () => {
    const a = buildPromptSet({ project: 'TCGA-KIRC', findings: ['clear cell', 'necrosis'] });
    const b = buildPromptSet({ project: 'kirc', findings: [' clear cell', 'necrosis', 'NECROSIS'] });
    expect(b.hash).toBe(a.hash);
    expect(buildPromptSet({ project: 'TCGA-KIRC', findings: ['necrosis', 'clear cell'] }).hash).not.toBe(a.hash);
    expect(buildPromptSet({ project: 'TCGA-KIRP', findings: ['clear cell', 'necrosis'] }).hash).not.toBe(a.hash);
  });

  it('rejects an unknown project and findings that are not strings with InvalidInput', () => {
    expect(errorCode(() => buildPromptSet({ project: 'TCGA-GBM', findings: [] }))).toBe('InvalidInput');
    expect(errorCode(() => buildPromptSet({ project: 'TCGA-LUAD', findings: [42 as unknown as string] }))).toBe(
      'InvalidInput',
    );
    expect(errorCode(() => normaliseFindings('a finding' as unknown as string[]))).toBe('InvalidInput');
  });
});
