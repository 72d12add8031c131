import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImageFolder, maxListedProblems, pathgenDataset } from '../../../activities/eval/datasets/index.js';
import { invalidDataset, makeTempDir, removeDir, writeImages, writeText } from './dataset-fixtures.js';

let dir: string;
let case_ = 0;

beforeAll(async () => {
  dir = await makeTempDir('image-folder');
});

afterAll(async () => {
  await removeDir(dir);
});

/** A fresh dataset root per test. */
async function root(files: readonly string[] = []): Promise<string> {
  const folder = path.join(dir, `case-${case_++}`);
  await mkdir(folder, { recursive: true });
  await writeImages(folder, files);
  return folder;
}

describe('loadImageFolder', () => {
  it('maps release folder names through a definition, finds nested images and sorts them', async () => {
    const folder = await root([
      'colon_n/b.png',
      'colon_aca/patient-2/z.jpeg',
      'colon_aca/patient-1/a.TIF',
      'colon_n/a.bmp',
      'colon_aca/top.jpg',
    ]);
    await writeText(folder, 'colon_aca/notes.txt', 'not an image');
    await writeText(folder, 'README.md', 'about the release');
    await writeImages(folder, ['colon_n/.hidden.png', '.cache/x.png']);

    const loaded = await loadImageFolder(folder, { definition: pathgenDataset('lc25000-colon') });
    expect(loaded.classes).toEqual(['colon_aca', 'colon_n']);
    expect(loaded.samples.map((sample) => [path.relative(folder, sample.path), sample.label])).toEqual([
      ['colon_aca/patient-1/a.TIF', 0],
      ['colon_aca/patient-2/z.jpeg', 0],
      ['colon_aca/top.jpg', 0],
      ['colon_n/a.bmp', 1],
      ['colon_n/b.png', 1],
    ]);
    expect(loaded.samples.every((sample) => path.isAbsolute(sample.path) && sample.split === undefined)).toBe(true);
    expect(await loadImageFolder(folder, { definition: pathgenDataset('lc25000-colon') })).toEqual(loaded);
  });

  it('accepts class names as folder names and keeps the definition’s class order', async () => {
    const folder = await root(['tumor/1.png', 'normal/1.png']);
    const loaded = await loadImageFolder(folder, { definition: pathgenDataset('wsss4luad') });
    expect(loaded.classes).toEqual(['normal', 'tumor']);
    const bach = await root(['normal breast tissue/1.png', 'Benign/1.png', 'InSitu/1.png', 'Invasive/x/1.png']);
    const loadedBach = await loadImageFolder(bach, { definition: pathgenDataset('bach') });
    expect(loadedBach.samples.map((sample) => sample.label)).toEqual([0, 1, 2, 3]);
  });

  it('without a definition takes the sorted folder names as classes, integers as indices', async () => {
    const folder = await root(['zeta/1.png', 'Alpha/1.png', 'beta/1.png']);
    expect((await loadImageFolder(folder)).classes).toEqual(['Alpha', 'beta', 'zeta']);
    const numeric = await root(['10/a.png', '2/a.png', ...Array.from({ length: 11 }, (_, i) => `${i}/b.png`)]);
    const loaded = await loadImageFolder(numeric);
    expect(loaded.classes).toEqual(Array.from({ length: 11 }, (_, i) => String(i)));
    expect(loaded.samples.find((sample) => sample.path.endsWith(`${path.sep}10${path.sep}a.png`))?.label).toBe(10);
  });

  it('detects train/val/test folders and labels every sample with its split', async () => {
    const folder = await root(['train/0/a.png', 'train/1/a.png', 'test/0/b.png', 'test/1/b.png', 'val/1/c.png']);
    const loaded = await loadImageFolder(folder, { definition: pathgenDataset('pcam') });
    expect(loaded.samples.map((sample) => [path.relative(folder, sample.path), sample.label, sample.split])).toEqual([
      ['test/0/b.png', 0, 'test'],
      ['test/1/b.png', 1, 'test'],
      ['train/0/a.png', 0, 'train'],
      ['train/1/a.png', 1, 'train'],
      ['val/1/c.png', 1, 'val'],
    ]);
  });

  it('follows links to class folders', async () => {
    const elsewhere = await root(['x.png', 'y.png']);
    const folder = await root(['a/1.png']);
    await symlink(elsewhere, path.join(folder, 'b'));
    const loaded = await loadImageFolder(folder);
    expect(loaded.classes).toEqual(['a', 'b']);
    expect(loaded.samples.filter((sample) => sample.label === 1)).toHaveLength(2);
  });

  it('fails on a missing root, a file as root and a folder without images', async () => {
    expect((await invalidDataset(loadImageFolder(path.join(dir, 'absent')))).message).toContain(
      'dataset folder not found',
    );
    const file = await writeText(dir, 'plain.txt', 'x');
    expect((await invalidDataset(loadImageFolder(file))).message).toContain('not a folder');
    const empty = await root();
    await writeText(empty, 'a/readme.txt', 'x');
    expect((await invalidDataset(loadImageFolder(empty))).message).toContain('no images');
  });

  it('names unknown class folders, stray images and broken links together', async () => {
    const folder = await root(['ADI/1.png', 'FAT/1.png', 'loose.png']);
    await symlink(path.join(folder, 'gone.png'), path.join(folder, 'ADI', 'broken.png'));
    const { message, details } = await invalidDataset(
      loadImageFolder(folder, { definition: pathgenDataset('crc-100k') }),
    );
    expect(details.count).toBe(3);
    expect(message).toContain(`${path.join(folder, 'FAT')}: unknown class folder`);
    expect(message).toContain('"ADI"');
    expect(message).toContain(`${path.join(folder, 'loose.png')}: image outside any class folder`);
    expect(message).toContain('broken.png: link to a missing image');
  });

  it('fails when a class has no samples (an empty folder or a folder the definition expects)', async () => {
    const folder = await root(['ADI/1.png', 'BACK/1.png']);
    const { message, details } = await invalidDataset(
      loadImageFolder(folder, { definition: pathgenDataset('crc-100k') }),
    );
    expect(details.count).toBe(7);
    expect(message).toContain('class "TUM" has no samples');
    const noDefinition = await root(['a/1.png']);
    await mkdir(path.join(noDefinition, 'b'));
    expect((await invalidDataset(loadImageFolder(noDefinition))).message).toContain('class "b" has no samples');
  });

  it('refuses split folders beside class folders', async () => {
    const folder = await root(['train/a/1.png', 'b/1.png']);
    expect((await invalidDataset(loadImageFolder(folder))).message).toContain(
      'split folders (train) sit beside other folders (b)',
    );
  });

  it('lists at most the first problems, with the full count', async () => {
    const files = Array.from(
      { length: maxListedProblems + 5 },
      (_, i) => `unknown-${String(i).padStart(2, '0')}/1.png`,
    );
    const folder = await root(['ADI/1.png', ...files]);
    const { message, details } = await invalidDataset(
      loadImageFolder(folder, { definition: pathgenDataset('crc-100k') }),
    );
    expect(details.count).toBe(maxListedProblems + 5);
    expect(details.problems).toHaveLength(maxListedProblems);
    expect(message).toContain('… and 5 more');
  });
});
