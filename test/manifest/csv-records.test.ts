import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readCsvRecords } from '../../activities/manifest/csv-records.js';
import type { CsvRecord } from '../../activities/manifest/csv-records.js';
import { readTextLines } from '../../activities/manifest/text-lines.js';

function chunked(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  return Readable.from(pieces);
}

async function records(text: string | Uint8Array, chunkSize = 1 << 16, startByte = 0): Promise<CsvRecord[]> {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const out: CsvRecord[] = [];
  for await (const record of readCsvRecords(chunked(bytes.subarray(startByte), chunkSize), { startByte })) {
    out.push(record);
  }
  return out;
}

const tricky =
  '\uFEFFslideId,report\r\n' +
  'a,"has, comma"\r\n' +
  '\r\n' +
  'b,"two\nlines and ""quotes"""\n' +
  'c,naïve µm\r' +
  'd,""\n' +
  'e,last';

describe('readCsvRecords (RFC 4180)', () => {
  it('splits quoted commas, line breaks and doubled quotes, skips blank lines and a BOM', async () => {
    const expected = [
      { line: 1, fields: ['slideId', 'report'] },
      { line: 2, fields: ['a', 'has, comma'] },
      { line: 4, fields: ['b', 'two\nlines and "quotes"'] },
      { line: 6, fields: ['c', 'naïve µm'] },
      { line: 7, fields: ['d', ''] },
      { line: 8, fields: ['e', 'last'] },
    ];
    for (const chunkSize of [1, 2, 3, 7, 1 << 16]) {
      const got = await records(tricky, chunkSize);
      expect(got.map((r) => ({ line: r.line, fields: 'fields' in r ? r.fields : r.error }))).toEqual(expected);
    }
  });

  it('gives each record the byte offset and line where the next one starts, so a read resumes there', async () => {
    const bytes = Buffer.from(tricky);
    const all = await records(bytes);
    for (let i = 0; i < all.length - 1; i++) {
      const from = all[i] as CsvRecord;
      const resumed: CsvRecord[] = [];
      const stream = chunked(bytes.subarray(from.endByte), 5);
      for await (const record of readCsvRecords(stream, { startByte: from.endByte, startLine: from.nextLine })) {
        resumed.push(record);
      }
      expect(resumed).toEqual(all.slice(i + 1));
    }
  });

  it('reports a malformed record with its line and goes on with the next', async () => {
    const got = await records('a,b\nx"y,1\n"q"z,2\nok,3\n"open,4\nnever closed');
    expect(got).toEqual([
      { line: 1, fields: ['a', 'b'], endByte: 4, nextLine: 2 },
      { line: 2, error: 'field 1 has a double quote inside an unquoted value', endByte: 10, nextLine: 3 },
      { line: 3, error: 'field 1 has text after its closing double quote', endByte: 17, nextLine: 4 },
      { line: 4, fields: ['ok', '3'], endByte: 22, nextLine: 5 },
      { line: 5, error: 'a quoted field is not closed (missing ")', endByte: 42, nextLine: 6, fatal: true },
    ]);
  });

  it('stops at a record longer than the limit instead of holding it', async () => {
    const out: CsvRecord[] = [];
    const text = `a\n"${'x'.repeat(100)}`;
    for await (const record of readCsvRecords(chunked(Buffer.from(text), 8), { maxRecordBytes: 50 })) out.push(record);
    expect(out).toHaveLength(2);
    expect(out[1]).toMatchObject({ line: 2, fatal: true });
  });
});

describe('readTextLines', () => {
  it('splits on LF and CRLF across chunk boundaries with byte offsets, skipping a BOM', async () => {
    const bytes = Buffer.from('\uFEFF{"a":1}\r\n\n{"b":"µ"}\nlast');
    for (const size of [1, 4, 1 << 16]) {
      const lines = [];
      for await (const line of readTextLines(chunked(bytes, size))) lines.push(line);
      expect(lines).toEqual([
        { line: 1, text: '{"a":1}', endByte: 12 },
        { line: 2, text: '', endByte: 13 },
        { line: 3, text: '{"b":"µ"}', endByte: 24 },
        { line: 4, text: 'last', endByte: 28 },
      ]);
    }
  });

  it('reports an over-long line without its text and goes on', async () => {
    const lines = [];
    const text = `${'x'.repeat(40)}\nshort\n`;
    for await (const line of readTextLines(chunked(Buffer.from(text), 7), { maxLineBytes: 10 })) lines.push(line);
    expect(lines).toEqual([
      { line: 1, text: undefined, endByte: 41 },
      { line: 2, text: 'short', endByte: 47 },
    ]);
  });
});
