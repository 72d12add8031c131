import { describe, expect, it } from 'vitest';
import {
  classPrompts,
  fillTemplate,
  pathgenDataset,
  pathgenDatasetIds,
  pathgenDatasets,
  validateDatasetDefinition,
} from '../../../activities/eval/datasets/index.js';
import type { DatasetDefinitionInput } from '../../../activities/eval/datasets/index.js';
import { isPathgenError } from '../../../activities/common/errors.js';

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const valid: DatasetDefinitionInput = {
  id: 'toy-set',
  displayName: 'Toy',
  classes: [
    { label: 'A', name: 'alpha tissue' },
    { label: 'B', name: 'beta tissue', aliases: ['b'] },
  ],
  templates: ['An H&E image of {class}'],
  testSplit: 'all',
  source: 'https://example.org/toy',
  note: 'synthetic',
};

describe('the nine PathGen zero-shot datasets', () => {
  it('are the datasets and class counts of PathGen’s evaluation', () => {
    const counts = Object.fromEntries(pathgenDatasets.map((definition) => [definition.id, definition.classes.length]));
    expect(counts).toEqual({
      'crc-100k': 9,
      sicapv2: 4,
      wsss4luad: 2,
      'lc25000-lung': 3,
      'lc25000-colon': 2,
      osteo: 3,
      'skin-cancer': 16,
      bach: 4,
      pcam: 2,
    });
    expect(pathgenDatasetIds).toEqual(Object.keys(counts));
  });

  it('map the release’s folder names to prompt class names', () => {
    const crc = pathgenDataset('crc-100k');
    expect(crc.classes.map((entry) => entry.label)).toEqual([
      'ADI',
      'BACK',
      'DEB',
      'LYM',
      'MUC',
      'MUS',
      'NORM',
      'STR',
      'TUM',
    ]);
    expect(crc.classes.find((entry) => entry.label === 'TUM')?.name).toBe('colorectal adenocarcinoma epithelium');
    expect(crc.testSplit).toContain('CRC-VAL-HE-7K');
    expect(pathgenDataset('lc25000-lung').classes.map((entry) => entry.label)).toEqual([
      'lung_aca',
      'lung_n',
      'lung_scc',
    ]);
    expect(pathgenDataset('pcam').classes.map((entry) => entry.label)).toEqual(['0', '1']);
  });

  it('have one PathGen-style template first, every template with {class}, unique class names and a source', () => {
    for (const definition of pathgenDatasets) {
      expect(definition.templates[0]).toMatch(/^An H&E image of \{class\}/);
      for (const template of definition.templates) expect(template).toContain('{class}');
      const names = definition.classes.map((entry) => entry.name);
      expect(new Set(names).size).toBe(names.length);
      expect(definition.source).toMatch(/^https:\/\//);
      expect(definition.note.length).toBeGreaterThan(10);
    }
    const bach = pathgenDataset('bach');
    expect(fillTemplate(bach.templates[0] ?? '', bach.classes[3]?.name ?? '')).toBe(
      'An H&E image of normal breast tissue',
    );
    expect(fillTemplate(pathgenDataset('wsss4luad').templates[0] ?? '', 'tumor')).toBe('An H&E image of tumor tissue');
  });

  it('name an unknown id with the known ones', () => {
    const error = thrown(() => pathgenDataset('crc100k'));
    expect(isPathgenError(error) && error.code).toBe('InvalidDataset');
    expect((error as Error).message).toContain('crc-100k');
  });
});

describe('validateDatasetDefinition', () => {
  it('accepts a sound definition and fills in empty aliases', () => {
    const definition = validateDatasetDefinition(valid);
    expect(definition.classes[0]?.aliases).toEqual([]);
    expect(definition.classes[1]?.aliases).toEqual(['b']);
  });

  it.each([
    ['a class name twice', { classes: [valid.classes[0], { label: 'B', name: 'alpha tissue' }] }, 'appears twice'],
    ['a template without {class}', { templates: ['An H&E image of tissue'] }, 'must contain {class}'],
    [
      'a label naming two classes',
      { classes: [valid.classes[0], { label: 'C', name: 'c', aliases: ['A'] }] },
      'names both',
    ],
    [
      'a numeric label at another index',
      {
        classes: [
          { label: '1', name: 'x' },
          { label: '0', name: 'y' },
        ],
      },
      'reads as class index',
    ],
    ['an id that is not kebab-case', { id: 'Toy_Set' }, 'kebab-case'],
    ['a single class', { classes: [valid.classes[0]] }, 'at least two classes'],
  ])('rejects %s', (_what, change, message) => {
    const error = thrown(() => validateDatasetDefinition({ ...valid, ...change }));
    expect(isPathgenError(error) && error.code).toBe('InvalidDataset');
    expect((error as Error).message).toContain(message);
  });
});

describe('templates', () => {
  it('replace every {class} and give one prompt per class and template', () => {
    expect(fillTemplate('{class}, H&E: {class}.', 'a<b>')).toBe('a<b>, H&E: a<b>.');
    expect(classPrompts(['An H&E image of {class}', '{class}.'], ['x', 'y'])).toEqual([
      ['An H&E image of x', 'x.'],
      ['An H&E image of y', 'y.'],
    ]);
  });
});
