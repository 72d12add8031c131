import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultTemplate,
  evaluationSamples,
  pathgenDataset,
  resolveDataset,
} from '../../../activities/eval/datasets/index.js';
import type { DatasetSpec } from '../../../activities/eval/datasets/index.js';
import { invalidDataset, makeTempDir, removeDir, writeImages, writeText } from './dataset-fixtures.js';

let dir: string;
let bachFolder: string;
let splitCsv: string;

beforeAll(async () => {
  dir = await makeTempDir('resolve-dataset');
  bachFolder = path.join(dir, 'BACH Photos');
  await writeImages(bachFolder, [
    'Benign/b1.tif',
    'InSitu/is1.tif',
    'Invasive/iv1.tif',
    'Normal/n1.tif',
    'Normal/n2.tif',
  ]);
  await mkdir(path.join(dir, 'csv'), { recursive: true });
  await writeImages(path.join(dir, 'csv'), ['a.png', 'b.png', 'c.png', 'd.png']);
  splitCsv = await writeText(
    dir,
    'csv/My Tumour Set.csv',
    'path,label,split\na.png,tumor,train\nb.png,normal,train\nc.png,tumor,test\nd.png,normal,test\n',
  );
});

afterAll(async () => {
  await removeDir(dir);
});

async function failure(spec: DatasetSpec): Promise<string> {
  return (await invalidDataset(resolveDataset(spec))).message;
}

describe('resolveDataset', () => {
  it('takes class names and templates from a PathGen definition', async () => {
    const resolved = await resolveDataset({ definition: 'bach', folder: bachFolder });
    const bach = pathgenDataset('bach');
    expect(resolved).toMatchObject({
      id: 'bach',
      displayName: 'BACH',
      definition: 'bach',
      source: { kind: 'folder', path: bachFolder },
      labels: ['Benign', 'InSitu', 'Invasive', 'Normal'],
      classNames: bach.classes.map((entry) => entry.name),
      templates: bach.templates,
    });
    expect(resolved.samples).toHaveLength(5);
    expect(resolved.splits).toEqual({ all: resolved.samples });
    expect(evaluationSamples(resolved)).toEqual(resolved.samples);
  });

  it('lets the spec override class names and templates', async () => {
    const resolved = await resolveDataset({
      definition: 'bach',
      folder: bachFolder,
      classes: ['benign', 'in situ', 'invasive', 'normal'],
      templates: ['a slide of {class}', '{class}'],
    });
    expect(resolved.classNames).toEqual(['benign', 'in situ', 'invasive', 'normal']);
    expect(resolved.templates).toEqual(['a slide of {class}', '{class}']);
  });

  it('without a definition names the dataset after its CSV, groups splits and defaults the template', async () => {
    const resolved = await resolveDataset({ csv: splitCsv, classes: ['normal tissue', 'tumor tissue'] });
    expect(resolved).toMatchObject({
      id: 'my-tumour-set',
      displayName: 'My Tumour Set',
      source: { kind: 'csv', path: splitCsv },
      labels: ['normal', 'tumor'],
      classNames: ['normal tissue', 'tumor tissue'],
      templates: [defaultTemplate],
    });
    expect(resolved.definition).toBeUndefined();
    expect(Object.keys(resolved.splits).sort()).toEqual(['test', 'train']);
    expect(evaluationSamples(resolved).map((sample) => path.basename(sample.path))).toEqual(['c.png', 'd.png']);
    const plain = await resolveDataset({ folder: bachFolder });
    expect(plain.classNames).toEqual(plain.labels);
    expect(plain.id).toBe('bach-photos');
  });

  it.each<[string, DatasetSpec, string]>([
    ['no data location', { definition: 'bach' }, 'exactly one of folder and csv'],
    ['both folder and csv', { folder: 'x', csv: 'y.csv' }, 'exactly one of folder and csv'],
    ['an unknown definition', { definition: 'bach-2018', folder: 'x' }, 'unknown dataset definition "bach-2018"'],
    ['a template without {class}', { folder: 'x', templates: ['An H&E image'] }, 'must contain {class}'],
    ['an unknown key', { folder: 'x', template: 'x' } as DatasetSpec, 'template'],
  ])('rejects %s', async (_what, spec, message) => {
    expect(await failure(spec)).toContain(message);
  });

  it('rejects class names that do not fit the classes', async () => {
    expect(await failure({ definition: 'bach', folder: bachFolder, classes: ['a', 'b'] })).toContain(
      '2 class names for 4 classes',
    );
    expect(await failure({ csv: splitCsv, classes: ['tissue', 'tissue'] })).toContain(
      'class names appear twice: tissue',
    );
  });

  it('has no evaluation samples when only train and val are given', async () => {
    const folder = path.join(dir, 'train-val');
    await writeImages(folder, ['train/a/1.png', 'train/b/1.png', 'val/a/2.png']);
    const resolved = await resolveDataset({ folder });
    expect(() => evaluationSamples(resolved)).toThrow('no test split');
  });
});
