import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSplitCsv } from '../../../activities/eval/datasets/index.js';
import { invalidDataset, makeTempDir, removeDir, writeText } from './dataset-fixtures.js';

let dir: string;
let case_ = 0;

beforeAll(async () => {
  dir = await makeTempDir('split-csv');
});

afterAll(async () => {
  await removeDir(dir);
});

async function csvWith(text: string, slides: readonly string[] = []): Promise<{ folder: string; csv: string }> {
  const folder = path.join(dir, `case-${case_++}`);
  await mkdir(folder, { recursive: true });
  for (const slide of slides) await writeText(folder, slide, 'not really a slide');
  return { folder, csv: await writeText(folder, 'splits.csv', text) };
}

describe('readSplitCsv', () => {
  it('reads slides, labels and splits, resolves local paths, keeps URIs and sorts by slide', async () => {
    const { folder, csv } = await csvWith(
      [
        'slide,label,split,path,uri',
        'test_002,tumor,test,slides/test_002.tif,',
        'normal_001,normal,train,,s3://bucket/normal_001.tif',
        'tumor_001,1,train,slides/tumor_001.tif,',
        'normal_002,0,val,,',
      ].join('\n'),
      ['slides/test_002.tif', 'slides/tumor_001.tif'],
    );
    const splits = await readSplitCsv(csv, { classes: ['normal', 'tumor'] });
    expect(splits).toEqual({
      classes: ['normal', 'tumor'],
      slides: [
        { slide: 'normal_001', label: 0, split: 'train', uri: 's3://bucket/normal_001.tif' },
        { slide: 'normal_002', label: 0, split: 'val' },
        { slide: 'test_002', label: 1, split: 'test', path: path.join(folder, 'slides/test_002.tif') },
        { slide: 'tumor_001', label: 1, split: 'train', path: path.join(folder, 'slides/tumor_001.tif') },
      ],
    });
  });

  it('without classes takes the sorted labels found', async () => {
    const { csv } = await csvWith('slide,label,split\ns1,IC,train\ns2,N,train\ns3,DCIS,test\n');
    const splits = await readSplitCsv(csv);
    expect(splits.classes).toEqual(['DCIS', 'IC', 'N']);
    expect(splits.slides.map((entry) => entry.label)).toEqual([1, 2, 0]);
  });

  it('reports bad rows with their lines', async () => {
    const { csv } = await csvWith(
      [
        'slide,label,split,path,uri',
        's1,normal,train,,',
        's1,tumor,test,,',
        's2,metastasis,test,,',
        's3,normal,validation,,',
        ',normal,test,,',
        's4,tumor,test,a.tif,s3://b/a.tif',
      ].join('\n'),
    );
    const { message, details } = await invalidDataset(readSplitCsv(csv, { classes: ['normal', 'tumor'] }));
    expect(details.count).toBe(5);
    expect(message).toContain('line 3: slide s1 is also on line 2');
    expect(message).toContain('line 4: unknown label "metastasis"');
    expect(message).toContain('line 5: split "validation" is not one of train, val, test');
    expect(message).toContain('line 6: slide is empty');
    expect(message).toContain('line 7: give a path or a uri, not both');
  });

  it('fails on missing slide files, an empty class or split, and inconsistent given classes', async () => {
    const missing = await csvWith('slide,label,split,path\ns1,0,train,here.tif\ns2,1,test,gone.tif\n', ['here.tif']);
    const gone = await invalidDataset(readSplitCsv(missing.csv));
    expect(gone.message).toContain('1 slide file is missing');
    expect(gone.message).toContain(`line 3 ${path.join(missing.folder, 'gone.tif')}: file not found`);

    const noTumor = await csvWith('slide,label,split\ns1,normal,train\ns2,normal,test\n');
    expect((await invalidDataset(readSplitCsv(noTumor.csv, { classes: ['normal', 'tumor'] }))).message).toContain(
      'class "tumor" has no slides',
    );
    const noTest = await csvWith('slide,label,split\ns1,a,train\ns2,b,val\n');
    expect((await invalidDataset(readSplitCsv(noTest.csv))).message).toContain('no slides in split test');
    const swapped = await csvWith('slide,label,split\ns1,0,train\ns2,1,test\n');
    expect((await invalidDataset(readSplitCsv(swapped.csv, { classes: ['1', '0'] }))).message).toContain(
      'reads as index 1 but is class 0',
    );
    const badHeader = await csvWith('slide,label\ns1,a\n');
    expect((await invalidDataset(readSplitCsv(badHeader.csv))).message).toContain('split: required column is missing');
  });
});
