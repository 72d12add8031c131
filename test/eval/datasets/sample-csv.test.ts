import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSampleCsv, maxListedProblems, pathgenDataset } from '../../../activities/eval/datasets/index.js';
import { invalidDataset, makeTempDir, removeDir, writeImages, writeText } from './dataset-fixtures.js';

let dir: string;
let case_ = 0;

beforeAll(async () => {
  dir = await makeTempDir('sample-csv');
});

afterAll(async () => {
  await removeDir(dir);
});

/** A fresh folder with the images, and a CSV written in it. */
async function csvWith(text: string, images: readonly string[] = []): Promise<{ folder: string; csv: string }> {
  const folder = path.join(dir, `case-${case_++}`);
  await mkdir(folder, { recursive: true });
  await writeImages(folder, images);
  return { folder, csv: await writeText(folder, 'labels.csv', text) };
}

describe('loadSampleCsv', () => {
  it('resolves paths against the CSV’s folder and labels by release label, class name or index', async () => {
    await writeImages(dir, ['shared/b.png']);
    const shared = path.join(dir, 'shared', 'b.png');
    const { folder, csv } = await csvWith(
      [
        'path,label,split',
        'img/c.png,G3,test',
        'img/a.png,benign glands,train',
        '"img/with, comma.png",3,test',
        `${shared},NC,val`,
        'img/d.png,2,test',
      ].join('\r\n') + '\r\n',
      ['img/a.png', 'img/c.png', 'img/d.png', 'img/with, comma.png'],
    );
    const loaded = await loadSampleCsv(csv, { definition: pathgenDataset('sicapv2') });
    expect(loaded.classes).toEqual(['NC', 'G3', 'G4', 'G5']);
    const expected = [
      { path: path.join(folder, 'img/a.png'), label: 0, split: 'train' },
      { path: path.join(folder, 'img/c.png'), label: 1, split: 'test' },
      { path: path.join(folder, 'img/d.png'), label: 2, split: 'test' },
      { path: path.join(folder, 'img/with, comma.png'), label: 3, split: 'test' },
      { path: shared, label: 0, split: 'val' },
    ].sort((a, b) => (a.path < b.path ? -1 : 1));
    expect(loaded.samples).toEqual(expected);
  });

  it('without a definition takes the sorted labels as classes, or integer labels as indices', async () => {
    const text = await csvWith('path,label\nx.png,tumor\ny.png,normal\nz.png,tumor\n', ['x.png', 'y.png', 'z.png']);
    const loaded = await loadSampleCsv(text.csv);
    expect(loaded.classes).toEqual(['normal', 'tumor']);
    expect(loaded.samples.map((sample) => sample.label)).toEqual([1, 0, 1]);
    const numeric = await csvWith('path,label\nx.png,1\ny.png,0\nz.png,2\n', ['x.png', 'y.png', 'z.png']);
    expect((await loadSampleCsv(numeric.csv)).classes).toEqual(['0', '1', '2']);
  });

  it('reports every bad row with its line: unknown label, bad split, empty cells, duplicates, bad quoting', async () => {
    const { csv } = await csvWith(
      [
        'path,label,split',
        'a.png,ADI,test',
        'b.png,FAT,test',
        'c.png,ADI,validation',
        ',ADI,test',
        'd.png,,test',
        './a.png,BACK,test',
        'e.png,ADI,test,extra',
        'f"g.png,ADI,test',
      ].join('\n'),
      ['a.png', 'b.png', 'c.png', 'd.png', 'e.png'],
    );
    const { message, details } = await invalidDataset(loadSampleCsv(csv, { definition: pathgenDataset('crc-100k') }));
    expect(details.count).toBe(7);
    expect(message).toContain('line 3: unknown label "FAT"');
    expect(message).toContain('line 4: split "validation" is not one of train, val, test');
    expect(message).toContain('line 5: path is empty');
    expect(message).toContain('line 6: label is empty');
    expect(message).toContain('line 7: same image as line 2');
    expect(message).toContain('line 8: has 4 fields where the header has 3');
    expect(message).toContain('line 9: field 1 has a double quote');
  });

  it('lists missing images, the first twenty, with the count', async () => {
    const rows = Array.from({ length: maxListedProblems + 5 }, (_, i) => `gone-${String(i).padStart(2, '0')}.png,0`);
    const { csv } = await csvWith(['path,label', 'here.png,1', ...rows].join('\n'), ['here.png']);
    const { message, details } = await invalidDataset(loadSampleCsv(csv));
    expect(message).toContain(`${maxListedProblems + 5} images are missing`);
    expect(message).toContain('line 3 ');
    expect(message).toContain('gone-00.png: file not found');
    expect(message).toContain('… and 5 more');
    expect(details.problems).toHaveLength(maxListedProblems);
  });

  it('checks the header, the file and that every class has samples', async () => {
    const noLabel = await csvWith('path,class\nx.png,a\n');
    expect((await invalidDataset(loadSampleCsv(noLabel.csv))).message).toMatch(
      /class: unknown column[\s\S]*label: required/,
    );
    expect((await invalidDataset(loadSampleCsv(path.join(dir, 'absent.csv')))).message).toContain('CSV file not found');
    const empty = await csvWith('');
    expect((await invalidDataset(loadSampleCsv(empty.csv))).message).toContain('empty');
    const headerOnly = await csvWith('path,label\n');
    expect((await invalidDataset(loadSampleCsv(headerOnly.csv))).message).toContain('no images listed');
    const oneClass = await csvWith('path,label\nx.png,tumor\n', ['x.png']);
    const missingClass = await invalidDataset(loadSampleCsv(oneClass.csv, { definition: pathgenDataset('wsss4luad') }));
    expect(missingClass.message).toContain('class "normal" has no samples');
    const gap = await csvWith('path,label\nx.png,0\ny.png,2\n', ['x.png', 'y.png']);
    expect((await invalidDataset(loadSampleCsv(gap.csv))).message).toContain('class "1" has no samples');
  });
});
