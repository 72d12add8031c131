import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  groupPathgenRecords,
  readJsonArray,
  readMaterializePatches,
  readMaterializeSlidesPage,
  readSlideLookup,
  slideIdForWsi,
  validatePathgenRecord,
} from '../../activities/manifest/index.js';
import type { ManifestCursor, MaterializeSlide } from '../../activities/manifest/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';

let dir: string;
let store: FsObjectStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-materialize-'));
  store = new FsObjectStore({ root: path.join(dir, 'store') });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tcgaId = (i: number) =>
  `TCGA-AA-${String(3800 + i).padStart(4, '0')}-01Z-00-DX1.bf88ce1f-0601-40c8-813e-4e3df51bd2f${i % 10}`;
const caption =
  'The colon tissue exhibits pleomorphism, hyperchromatic nuclei, and irregular glandular architecture, ' +
  'indicative of a neoplastic process. Stroma shows inflammatory infiltration and increased cellularity, ' +
  'suggesting a desmoplastic reaction, possibly "adenocarcinoma".';

/** A released-format file of `count` records over `slides` slides, interleaved (not sorted by slide). */
async function writePathgenFile(file: string, count: number, slides: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('[\n');
  for (let i = 0; i < count; i++) {
    const record = {
      wsi_id: tcgaId(i % slides),
      position: [String((i * 672) % 100_000), String(Math.floor(i / slides) * 672)],
      caption: `${caption} #${i}`,
      file_id: `file-${i % slides}`,
    };
    const ok = out.write(`${i === 0 ? '' : ',\n'}    ${JSON.stringify(record, null, 1)}`);
    if (!ok) await once(out, 'drain');
  }
  out.end('\n]\n');
  await finished(out);
}

describe('PathGen-format records', () => {
  it('validates positions as strings of non-negative integers and names bad fields', () => {
    expect(
      validatePathgenRecord({ wsi_id: 'w', position: ['35136', '33344'], caption: 'c', file_id: 'f', extra: 1 }),
    ).toEqual({ record: { wsiId: 'w', x: 35136, y: 33344, caption: 'c', fileId: 'f' } });
    expect(validatePathgenRecord({ WSI_id: 'w', position: [0, 7], caption: 'c' })).toEqual({
      record: { wsiId: 'w', x: 0, y: 7, caption: 'c', fileId: '' },
    });
    expect(validatePathgenRecord({ wsi_id: '', position: ['-1', '2.5'], caption: 3, file_id: 9 })).toEqual({
      errors: [
        { field: 'wsi_id', message: 'must be a non-empty string' },
        { field: 'position.0', message: 'must be a non-negative integer (as a string)' },
        { field: 'position.1', message: 'must be a non-negative integer (as a string)' },
        { field: 'caption', message: 'must be a non-empty string' },
        { field: 'file_id', message: 'must be a string' },
      ],
    });
    expect(validatePathgenRecord({ wsi_id: 'w', position: ['1'], caption: 'c' })).toEqual({
      errors: [{ field: 'position', message: 'must be [x, y]: two strings of non-negative integers' }],
    });
  });

  it('keeps TCGA ids as slide ids and makes other ids safe and distinct', () => {
    expect(slideIdForWsi(tcgaId(1))).toBe(tcgaId(1));
    const a = slideIdForWsi('slides/a b.svs');
    const b = slideIdForWsi('slides/a_b.svs');
    expect(a).toMatch(/^slides-a-b\.svs-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    expect(slideIdForWsi('///')).toMatch(/^x-[0-9a-f]{12}$/);
  });
});

describe('readSlideLookup', () => {
  it('reads a CSV and a JSONL lookup, naming bad lines', async () => {
    const csv = path.join(dir, 'lookup.csv');
    await writeFile(csv, 'wsi_id,slide,project\nw1,/slides/w1.svs,COAD\nw2,,\nw3,s3://b/w3.svs,NOPE\nw1,/other.svs,\n');
    const fromCsv = await readSlideLookup({ kind: 'file', path: csv });
    expect([...fromCsv.slides]).toEqual([['w1', { slide: '/slides/w1.svs', project: 'TCGA-COAD' }]]);
    expect(fromCsv.errors).toEqual([
      { line: 3, errors: [{ field: 'slide', message: 'is required' }] },
      { line: 4, errors: [{ field: 'project', message: 'unknown TCGA project "NOPE"' }] },
      { line: 5, errors: [{ field: 'wsi_id', message: 'w1 is already mapped to /slides/w1.svs' }] },
    ]);

    await store.put('lookup.jsonl', Buffer.from('{"wsi_id":"w1","slide":"a.svs"}\n\n{"wsi":"x"}\nnot json\n'));
    const fromJsonl = await readSlideLookup({ kind: 'store', key: 'lookup.jsonl' }, { store });
    expect([...fromJsonl.slides]).toEqual([['w1', { slide: 'a.svs' }]]);
    expect(fromJsonl.errors.map((error) => [error.line, error.errors.map((e) => e.field)])).toEqual([
      [3, ['wsi', 'wsi_id', 'slide']],
      [4, ['(row)']],
    ]);
  });
});

describe('materialize input at scale', () => {
  const count = 200_000;
  const slideCount = 40;
  let file: string;

  beforeAll(async () => {
    file = path.join(dir, 'PathGen-1.6M.json');
    await writePathgenFile(file, count, slideCount);
  });

  it('streams 200,000 records, holding no more than one record at a time', async () => {
    const size = (await stat(file)).size;
    // A forced collection before each sample measures what the reader keeps, not garbage not yet
    // collected: reading the 80 MB file whole would keep hundreds of MB.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = 0;
    let n = 0;
    for await (const item of readJsonArray(createReadStream(file))) {
      if (!('value' in item)) throw new Error(`record ${item.index}: ${item.error}`);
      n += 1;
      if (n % 25_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - base);
      }
    }
    expect(n).toBe(count);
    expect(size).toBeGreaterThan(80 * 1024 * 1024);
    expect(peak).toBeLessThan(8 * 1024 * 1024);
  });

  it('groups records by slide in bounded parts, reporting records the lookup lacks', async () => {
    // Slide 0 is missing from the lookup: its 5,000 records are errors, not a crash.
    const lookup = new Map(
      Array.from({ length: slideCount - 1 }, (_, i) => [tcgaId(i + 1), { slide: `/slides/${i + 1}.svs` }]),
    );
    const grouping = await groupPathgenRecords({
      store,
      source: { kind: 'file', path: file },
      lookup,
      outputPrefix: 'materialize/run-1',
      maxBufferedRecords: 60_000,
      maxErrorsReturned: 3,
    });
    const perSlide = count / slideCount;
    expect(grouping).toMatchObject({
      records: count,
      groupedRecords: count - perSlide,
      slides: slideCount - 1,
      errorCounts: { InvalidJson: 0, InvalidRecord: 0, UnknownWsiId: perSlide },
    });
    expect(grouping.errors).toEqual(
      [0, slideCount, 2 * slideCount].map((index) => ({
        index,
        byteOffset: expect.any(Number),
        reason: 'UnknownWsiId',
        wsiId: tcgaId(0),
        errors: [{ field: 'wsi_id', message: `${tcgaId(0)} is not in the slide lookup` }],
      })),
    );
    const errorLines = (await store.get(grouping.errorsKey)).toString().trim().split('\n');
    expect(errorLines).toHaveLength(perSlide);

    const slides: MaterializeSlide[] = [];
    let cursor: ManifestCursor | undefined;
    do {
      const page = await readMaterializeSlidesPage(store, grouping.slidesKey, { cursor, limit: 7 });
      slides.push(...page.slides);
      cursor = page.next;
    } while (cursor !== undefined);
    expect(slides.map((slide) => slide.wsiId)).toEqual(Array.from({ length: slideCount - 1 }, (_, i) => tcgaId(i + 1)));
    const first = slides[0] as MaterializeSlide;
    // 60,000-record flushes over an interleaved file: every slide gets a part per flush.
    expect(first).toMatchObject({ slideId: tcgaId(1), slide: '/slides/1.svs', records: perSlide });
    expect(first.parts).toHaveLength(Math.ceil((count - perSlide) / 60_000));

    const { patches, duplicates } = await readMaterializePatches(store, first);
    expect(patches).toHaveLength(perSlide);
    expect(patches[1]).toEqual({
      index: 1 + slideCount,
      x: ((1 + slideCount) * 672) % 100_000,
      y: 672,
      caption: `${caption} #${1 + slideCount}`,
      fileId: 'file-1',
    });
    expect(duplicates).toEqual([]);
  });

  it('reports bad records and repeated positions without stopping', async () => {
    const source = path.join(dir, 'small.json');
    await writeFile(
      source,
      JSON.stringify([
        { wsi_id: 'w1', position: ['0', '0'], caption: 'a', file_id: 'f' },
        { wsi_id: 'w1', position: ['x', '0'], caption: 'b' },
        { wsi_id: 'w1', position: ['0', '0'], caption: 'again' },
        { wsi_id: 'w1', position: ['672', '0'], caption: 'c' },
      ]),
    );
    const grouping = await groupPathgenRecords({
      store,
      source: { kind: 'file', path: source },
      lookup: new Map([['w1', { slide: 'w1.svs' }]]),
      outputPrefix: 'materialize/small',
    });
    expect(grouping.errorCounts).toEqual({ InvalidJson: 0, InvalidRecord: 1, UnknownWsiId: 0 });
    expect(grouping.errors[0]).toMatchObject({ index: 1, errors: [{ field: 'position.0' }] });
    const page = await readMaterializeSlidesPage(store, grouping.slidesKey, { limit: 10 });
    const { patches, duplicates } = await readMaterializePatches(store, page.slides[0] as MaterializeSlide);
    expect(patches.map((patch) => patch.caption)).toEqual(['a', 'c']);
    expect(duplicates).toMatchObject([{ index: 2, caption: 'again', firstIndex: 0 }]);
  });
});
