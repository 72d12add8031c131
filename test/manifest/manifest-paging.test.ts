import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifestPage, scanManifest } from '../../activities/manifest/index.js';
import type { ManifestCursor, ManifestSource } from '../../activities/manifest/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import type { ByteRange } from '../../activities/store/object-store.js';

// A store that counts the bytes its readers actually pull, to show that paging with cursors reads
// the manifest about once instead of re-scanning it for every page.
class CountingStore extends FsObjectStore {
  bytesRead = 0;
  override async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const stream = await super.getStream(key, range);
    const counted = async function* (this: CountingStore): AsyncGenerator<Buffer> {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        this.bytesRead += chunk.length;
        yield chunk;
      }
    };
    return Readable.from(counted.call(this), { objectMode: false });
  }
}

const rowCount = 100_000;
const badLines = new Set([2, 50_001, 100_001]);
let dir: string;
let store: CountingStore;

function csvManifest(): { text: string; lineOfRow: number[] } {
  const lines = ['slideId,slide,project,report'];
  const lineOfRow: number[] = [];
  let line = 2;
  for (let i = 0; i < rowCount; i++) {
    lineOfRow.push(line);
    const project = badLines.has(line) ? 'TCGA-NOPE' : 'TCGA-LUAD';
    // Every tenth report is quoted over two lines, so rows and lines part ways.
    const report = i % 10 === 0 ? `"Row ${i}, lung:\nadenocarcinoma"` : `Row ${i} adenocarcinoma`;
    lines.push(`slide-${i},slides/slide-${i}.svs,${project},${report}`);
    line += i % 10 === 0 ? 2 : 1;
  }
  return { text: `${lines.join('\n')}\n`, lineOfRow };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-manifest-paging-'));
  store = new CountingStore({ root: dir });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function pageThrough(source: ManifestSource, limit: number) {
  const lines: number[] = [];
  const badLinesSeen: number[] = [];
  let cursor: ManifestCursor | undefined;
  let pages = 0;
  do {
    const page = await readManifestPage(source, { store, limit, cursor });
    pages += 1;
    expect(page.rows.length + page.errors.length).toBeLessThanOrEqual(limit);
    for (const { line } of page.rows) lines.push(line);
    for (const { line, errors } of page.errors) {
      lines.push(line);
      badLinesSeen.push(line);
      expect(errors[0]?.field).toBe('project');
    }
    cursor = page.next;
  } while (cursor !== undefined);
  return { lines: lines.sort((a, b) => a - b), badLinesSeen, pages };
}

describe('a 100,000-row manifest read in pages', () => {
  it('visits every row once, resuming each page at its byte cursor', async () => {
    const { text, lineOfRow } = csvManifest();
    const key = 'manifests/large.csv';
    await store.put(key, Buffer.from(text));
    const source: ManifestSource = { kind: 'store', key };

    store.bytesRead = 0;
    const { lines, badLinesSeen, pages } = await pageThrough(source, 1000);
    expect(pages).toBe(100);
    expect(lines).toEqual(lineOfRow);
    expect(badLinesSeen.sort((a, b) => a - b)).toEqual(
      [...badLines].filter((line) => lineOfRow.includes(line)).sort((a, b) => a - b),
    );
    // Each page reads its own rows plus a few 64 KiB read-ahead chunks and the header's first chunk
    // (a constant per page); re-scanning from the start would read about 50 times the file.
    expect(store.bytesRead).toBeLessThan(text.length + pages * 5 * 64 * 1024);

    const summary = await scanManifest(source, { store });
    expect(summary).toMatchObject({ rows: rowCount, badRows: badLinesSeen.length });
  });

  it('pages a JSONL manifest the same way', async () => {
    const rows = Array.from({ length: rowCount }, (_, i) =>
      JSON.stringify({ slideId: `s${i}`, slide: `slides/s${i}.svs`, project: i === 77_777 ? 'TCGA-NOPE' : 'KIRC' }),
    );
    const key = 'manifests/large.jsonl';
    await store.put(key, Buffer.from(rows.join('\n')));
    const { lines, badLinesSeen, pages } = await pageThrough({ kind: 'store', key }, 2500);
    expect(pages).toBe(40);
    expect(lines).toEqual(Array.from({ length: rowCount }, (_, i) => i + 1));
    expect(badLinesSeen).toEqual([77_778]);
  });
});
