import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readJsonArray } from '../../activities/manifest/index.js';
import type { JsonArrayCursor, JsonArrayItem } from '../../activities/manifest/index.js';

function chunked(text: string, size: number): AsyncIterable<Uint8Array> {
  const bytes = Buffer.from(text);
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  return Readable.from(pieces);
}

async function read(text: string, size = 1 << 16, cursor?: JsonArrayCursor) {
  const bytes = Buffer.from(text);
  const items: Array<JsonArrayItem & { next: JsonArrayCursor }> = [];
  const from = cursor === undefined ? text : bytes.subarray(cursor.byteOffset).toString('utf8');
  for await (const item of readJsonArray(chunked(from, size), { cursor })) items.push(item);
  return items;
}

const tricky = `\uFEFF [
  {"wsi_id": "a", "position": ["1", "2"], "caption": "brackets ] } [ { and \\"quotes\\", commas"},
  {"nested": {"deep": [1, [2, {"x": "\\\\"}]]}},
  "a string, with ] inside",
  42 , true,null,
  {"broken": tru},
  []
]
`;

describe('readJsonArray', () => {
  it('yields each top-level element, however the bytes are chunked', async () => {
    const expected = [
      { wsi_id: 'a', position: ['1', '2'], caption: 'brackets ] } [ { and "quotes", commas' },
      { nested: { deep: [1, [2, { x: '\\' }]] } },
      'a string, with ] inside',
      42,
      true,
      null,
    ];
    for (const size of [1, 2, 5, 64, 1 << 16]) {
      const items = await read(tricky, size);
      expect(items.slice(0, 6).map((item) => ('value' in item ? item.value : item.error))).toEqual(expected);
      expect(items[6]).toMatchObject({ index: 6, error: expect.stringMatching(/^not valid JSON/) });
      expect(items[7]).toMatchObject({ index: 7, value: [] });
      expect(items).toHaveLength(8);
    }
  });

  it('gives byte offsets of each element and a cursor that resumes after it', async () => {
    const items = await read(tricky, 7);
    const bytes = Buffer.from(tricky);
    expect(bytes.subarray(items[2]?.byteOffset, items[2]?.next.byteOffset).toString()).toBe(
      '"a string, with ] inside"',
    );
    for (const item of items.slice(0, -1)) {
      const resumed = await read(tricky, 3, item.next);
      expect(resumed).toEqual(items.slice(item.index + 1));
    }
  });

  it('reads an empty array and rejects what is not an array of elements', async () => {
    expect(await read(' [ ] ')).toEqual([]);
    await expect(read('{"a": 1}')).rejects.toMatchObject({ code: 'InvalidInput', message: /expected \[ at byte 0/ });
    await expect(read('[1, 2')).rejects.toThrow(/the array is not closed/);
    await expect(read('[{"a": 1}')).rejects.toThrow(/the array is not closed/);
    await expect(read('[1,,2]')).rejects.toThrow(/expected an element at byte 3/);
    await expect(read('[1, 2,]')).rejects.toThrow(/expected an element/);
    await expect(read('[1 2]')).rejects.toThrow(/expected , or \] after an element at byte 3/);
    await expect(read('[1] x')).rejects.toThrow(/unexpected data after the array/);
  });
});
