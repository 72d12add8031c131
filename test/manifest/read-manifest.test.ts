import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readManifest,
  readManifestPage,
  scanManifest,
  manifestSourceFromReference,
} from '../../activities/manifest/index.js';
import type { ManifestItem, ManifestSource } from '../../activities/manifest/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';

let dir: string;
let store: FsObjectStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-manifest-'));
  store = new FsObjectStore({ root: path.join(dir, 'store') });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(source: ManifestSource): Promise<ManifestItem[]> {
  const items: ManifestItem[] = [];
  for await (const item of readManifest(source, { store })) items.push(item);
  return items;
}

const jsonl = [
  '{"slideId":"s1","slide":"/data/s1.svs","project":"TCGA-LUAD","report":"Lung adenocarcinoma."}',
  '{"slideId":"s2","slide":"/data/s2.svs","project":"TCGA-XYZ"}',
  '',
  '{"slideId":"s3","project":"BRCA"}',
  '{"slideId":"bad id!","slide":"slides/s4.svs","project":"KIRC"}',
  '{"slideId":"s5","slide":"s3://b/s5.svs",',
  '{"slideId":"s1","slide":"/data/other.svs","project":"LUAD"}',
  '{"slideId":"s6","slide":"file:///data/s6.svs","project":"luad","mppOverride":0.5}',
].join('\n');

const csv = [
  'slideId,slide,project,report,mppOverride',
  's1,/data/s1.svs,TCGA-LUAD,"Lung, left upper lobe:',
  'adenocarcinoma, ""acinar"" pattern.",',
  's2,/data/s2.svs,TCGA-XYZ,,',
  's3,,BRCA,,',
  'bad id!,slides/s4.svs,KIRC,,',
  's5,slides/s5.svs,KIRC,,abc',
  's1,/data/other.svs,LUAD,,',
  's6,file:///data/s6.svs,luad,,0.5',
  's7,only-two-fields',
].join('\r\n');

describe('readManifest', () => {
  it('reads a JSONL file: good rows pass, every bad row is named by line and field', async () => {
    const file = path.join(dir, 'm.jsonl');
    await writeFile(file, jsonl);
    const items = await collect({ kind: 'file', path: file });
    expect(items).toEqual([
      {
        line: 1,
        row: { slideId: 's1', slide: '/data/s1.svs', project: 'TCGA-LUAD', report: 'Lung adenocarcinoma.' },
      },
      { line: 2, slideId: 's2', errors: [{ field: 'project', message: expect.stringContaining('"TCGA-XYZ"') }] },
      { line: 4, slideId: 's3', errors: [{ field: 'slide', message: 'is required' }] },
      { line: 5, slideId: 'bad id!', errors: [{ field: 'slideId', message: expect.stringContaining('"bad id!"') }] },
      { line: 6, errors: [{ field: '(row)', message: expect.stringMatching(/^not valid JSON/) }] },
      { line: 7, slideId: 's1', errors: [{ field: 'slideId', message: 'duplicate slideId s1 (first on line 1)' }] },
      { line: 8, row: { slideId: 's6', slide: 'file:///data/s6.svs', project: 'TCGA-LUAD', mppOverride: 0.5 } },
    ]);
  });

  it('reads a CSV file with quoted commas, line breaks and quotes, naming rows by their first line', async () => {
    const key = 'manifests/m.csv';
    await store.put(key, Buffer.from(csv));
    const items = await collect({ kind: 'store', key });
    expect(items).toEqual([
      {
        line: 2,
        row: {
          slideId: 's1',
          slide: '/data/s1.svs',
          project: 'TCGA-LUAD',
          report: 'Lung, left upper lobe:\r\nadenocarcinoma, "acinar" pattern.',
        },
      },
      { line: 4, slideId: 's2', errors: [{ field: 'project', message: expect.stringContaining('"TCGA-XYZ"') }] },
      { line: 5, slideId: 's3', errors: [{ field: 'slide', message: 'is required' }] },
      { line: 6, slideId: 'bad id!', errors: [{ field: 'slideId', message: expect.stringContaining('"bad id!"') }] },
      {
        line: 7,
        slideId: 's5',
        errors: [{ field: 'mppOverride', message: 'must be a number of microns per pixel, got "abc"' }],
      },
      { line: 8, slideId: 's1', errors: [{ field: 'slideId', message: 'duplicate slideId s1 (first on line 2)' }] },
      { line: 9, row: { slideId: 's6', slide: 'file:///data/s6.svs', project: 'TCGA-LUAD', mppOverride: 0.5 } },
      { line: 10, errors: [{ field: '(row)', message: 'has 2 fields where the header has 5' }] },
    ]);
  });

  it('reports a wrong CSV header once, naming each bad column', async () => {
    const file = path.join(dir, 'bad-header.csv');
    await writeFile(file, 'slideId,slide,projekt,slide\na,b,c,d\n');
    expect(await collect({ kind: 'file', path: file })).toEqual([
      {
        line: 1,
        errors: [
          {
            field: 'projekt',
            message: expect.stringMatching(/^unknown column \(expected columns slideId, slide, project/),
          },
          { field: 'slide', message: 'column appears twice in the header' },
          { field: 'project', message: 'required column is missing from the header' },
        ],
      },
    ]);
  });

  it('checks inline rows, numbering them from 1', async () => {
    const items = await collect({
      kind: 'inline',
      rows: [{ slideId: 'a', slide: 'a.svs', project: 'OV' }, { slideId: 'b' }],
    });
    expect(items).toEqual([
      { line: 1, row: { slideId: 'a', slide: 'a.svs', project: 'TCGA-OV' } },
      {
        line: 2,
        slideId: 'b',
        errors: [
          { field: 'slide', message: 'is required' },
          { field: 'project', message: 'is required' },
        ],
      },
    ]);
  });

  it('fails plainly for a missing manifest or an unknown format', async () => {
    await expect(collect({ kind: 'file', path: path.join(dir, 'none.jsonl') })).rejects.toMatchObject({
      code: 'ManifestNotFound',
    });
    await expect(collect({ kind: 'store', key: 'manifests/none.csv' })).rejects.toMatchObject({
      code: 'ManifestNotFound',
    });
    await expect(collect({ kind: 'store', key: 'manifests/m.txt' })).rejects.toMatchObject({ code: 'InvalidInput' });
  });

  it('resolves a manifest reference to a file or a store key', () => {
    expect(manifestSourceFromReference('file:///data/m.csv', store)).toEqual({ kind: 'file', path: '/data/m.csv' });
    expect(manifestSourceFromReference('runs/r1/manifest.jsonl', store)).toEqual({
      kind: 'store',
      key: 'runs/r1/manifest.jsonl',
    });
    expect(() => manifestSourceFromReference('s3://elsewhere/m.csv', store)).toThrow(/outside the configured store/);
  });
});

describe('readManifestPage and scanManifest', () => {
  it('pages through a CSV with cursors and gives what one pass gives, without duplicate detection', async () => {
    const source: ManifestSource = { kind: 'store', key: 'manifests/m.csv' };
    const whole = (await collect(source)).filter((item) => !('errors' in item && item.line === 8));
    const paged: ManifestItem[] = [];
    let page = await readManifestPage(source, { store, limit: 3 });
    for (;;) {
      paged.push(...page.rows, ...page.errors);
      if (page.next === undefined) break;
      expect(page.next.byteOffset).toBeGreaterThan(0);
      page = await readManifestPage(source, { store, limit: 3, cursor: page.next });
    }
    paged.sort((a, b) => a.line - b.line);
    // The duplicate s1 on line 8 is a good row to a page reader: only a whole pass sees duplicates.
    expect(paged.map((item) => item.line)).toEqual([2, 4, 5, 6, 7, 8, 9, 10]);
    expect(paged.filter((item) => item.line !== 8)).toEqual(whole);
  });

  it('jumps to a row index with offset (inline at once, files by re-scanning)', async () => {
    const file = path.join(dir, 'm.jsonl');
    const fromOffset = await readManifestPage({ kind: 'file', path: file }, { limit: 2, offset: 3 });
    expect([...fromOffset.rows, ...fromOffset.errors].map((item) => item.line).sort()).toEqual([5, 6]);
    expect(fromOffset.next).toEqual({ index: 5, line: 7, byteOffset: expect.any(Number) });
    const last = await readManifestPage({ kind: 'file', path: file }, { limit: 5, cursor: fromOffset.next });
    expect(last.rows.map((item) => item.line)).toEqual([7, 8]);
    expect(last.next).toBeUndefined();

    const inline: ManifestSource = { kind: 'inline', rows: ['x', 'y', { slideId: 'z', slide: 'z', project: 'OV' }] };
    const page = await readManifestPage(inline, { limit: 5, offset: 2 });
    expect(page).toEqual({ rows: [{ line: 3, row: { slideId: 'z', slide: 'z', project: 'TCGA-OV' } }], errors: [] });
  });

  it('ends a page early when its rows would exceed a byte budget, always returning one row', async () => {
    const long = 'x'.repeat(500);
    const rows = [0, 1, 2, 3].map((i) => ({ slideId: `s${i}`, slide: `s${i}.svs`, project: 'OV', report: long }));
    const first = await readManifestPage({ kind: 'inline', rows }, { limit: 10, maxPageBytes: 1200 });
    expect(first.rows.map((item) => item.line)).toEqual([1, 2]);
    const tiny = await readManifestPage({ kind: 'inline', rows }, { limit: 10, maxPageBytes: 10, cursor: first.next });
    expect(tiny.rows.map((item) => item.line)).toEqual([3]);
    expect(tiny.next).toEqual({ index: 3, line: 4 });
  });

  it('summarises a manifest in one pass', async () => {
    const summary = await scanManifest({ kind: 'file', path: path.join(dir, 'm.jsonl') }, { maxErrors: 2 });
    expect(summary.rows).toBe(7);
    expect(summary.goodRows).toBe(2);
    expect(summary.badRows).toBe(5);
    expect(summary.errors.map((error) => error.line)).toEqual([2, 4]);
  });
});
