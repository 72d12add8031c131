import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';
import {
  attributePrompts,
  attributePromptsHash,
  attributePromptsVersion,
  canonicalAttributePrompts,
} from '../../activities/select/index.js';
import { tcgaProjectCodes } from '../../activities/tcga/tcga-projects.js';

describe('attribute prompts', () => {
  it('has a list of 15 to 25 short, distinct statements for each of the 31 projects', () => {
    expect(tcgaProjectCodes).toHaveLength(31);
    const everyStatement: string[] = [];
    for (const code of tcgaProjectCodes) {
      const list = attributePrompts(code);
      expect(list.length, code).toBeGreaterThanOrEqual(15);
      expect(list.length, code).toBeLessThanOrEqual(25);
      expect(new Set(list).size, code).toBe(list.length);
      for (const statement of list) {
        expect(statement.trim(), code).toBe(statement);
        expect(statement.length, code).toBeGreaterThan(0);
        // CLIP reads 77 BPE tokens; 25 words stay well inside that without a vocabulary to count.
        expect(statement.split(/\s+/).length, statement).toBeLessThanOrEqual(25);
      }
      everyStatement.push(...list);
    }
    // Each statement names its own project's tissue or tumour, so no two lists share one.
    expect(new Set(everyStatement).size).toBe(everyStatement.length);
  });

  it('accepts codes as tcgaProject does and returns frozen lists', () => {
    expect(attributePrompts('luad')).toBe(attributePrompts('TCGA-LUAD'));
    expect(attributePrompts(' tcga-coad ')).toContain('glandular structures lined by atypical columnar cells');
    expect(Object.isFrozen(attributePrompts('TCGA-BRCA'))).toBe(true);
  });

  it('rejects an unknown project with InvalidInput', () => {
    for (const project of ['TCGA-GBM', 'LAML', '']) {
      expect(() => attributePrompts(project)).toThrow(PathgenError);
      try {
        attributePrompts(project);
      } catch (error) {
        expect((error as PathgenError).code).toBe('InvalidInput');
      }
    }
  });

  it('hashes the canonical JSON of all lists, and the hash is pinned to the version', () => {
    const canonical = JSON.parse(canonicalAttributePrompts()) as [string, string[]][];
    expect(canonical.map(([code]) => code)).toEqual([...tcgaProjectCodes]);
    expect(canonical.every(([code, list]) => JSON.stringify(list) === JSON.stringify(attributePrompts(code)))).toBe(
      true,
    );
    expect(attributePromptsHash).toBe(createHash('sha256').update(canonicalAttributePrompts()).digest('hex'));
    // Editing a list changes this hash: bump attributePromptsVersion and update both lines together.
    expect({ version: attributePromptsVersion, hash: attributePromptsHash }).toEqual({
      version: 1,
      hash: 'e05ef78ff12625fb0ac185d05ae44c64af221e9c220832a44e7946eb3d73b9bc',
    });
  });
});
