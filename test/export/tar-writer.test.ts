import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarEnd, tarFileEntry, tarFileHeader } from '../../activities/export/index.js';
import { gnuTar, pythonTarMembers } from './tar-tools.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-tar-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const longKey = `TCGA-AA-3844-01Z-00-DX1-bf88ce1f-0601-40c8-813e-4e3df51bd2f0-${'x'.repeat(60)}_35136_33344`;
const entries: Array<{ name: string; data: Buffer }> = [
  { name: 'a.txt', data: Buffer.from('hello\n') },
  { name: 'empty.json', data: Buffer.alloc(0) },
  { name: 'block.bin', data: Buffer.alloc(512, 7) },
  { name: 'over-block.bin', data: Buffer.alloc(513, 9) },
  { name: 'n'.repeat(100), data: Buffer.from('exactly 100 bytes of name') },
  { name: `${'d'.repeat(120)}/${'f'.repeat(90)}.txt`, data: Buffer.from('split into prefix and name') },
  { name: `${longKey}.jpg`, data: Buffer.from('long name, carried by a pax header') },
  { name: 'naïve µm.txt', data: Buffer.from('UTF-8 name', 'utf8') },
];

function archive(mtime: number): Buffer {
  return Buffer.concat([...entries.map(({ name, data }) => tarFileEntry(name, data, { mtime })), tarEnd()]);
}

describe('tar writer', () => {
  it('writes 512-byte blocks ending in two zero blocks, with valid checksums', () => {
    const bytes = archive(0);
    expect(bytes.length % 512).toBe(0);
    expect(bytes.subarray(bytes.length - 1024).every((byte) => byte === 0)).toBe(true);
    const header = tarFileHeader('a.txt', 6);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
    expect(header.toString('ascii', 148, 156)).toBe(`${sum.toString(8).padStart(6, '0')}\0 `);
    expect(header.toString('ascii', 257, 265)).toBe('ustar\x0000');
  });

  it('is read by GNU tar with the right names, sizes and contents', async () => {
    const file = path.join(dir, 'gnu.tar');
    await writeFile(file, archive(1_700_000_000));
    const listing = (await gnuTar(['-tvf', file, '--utc'])).trim().split('\n');
    expect(listing).toHaveLength(entries.length);
    entries.forEach(({ name, data }, i) => {
      const line = listing[i] as string;
      expect(line.startsWith('-rw-r--r-- 0/0')).toBe(true);
      expect(line).toContain(` ${data.length} 2023-11-14 22:13 `);
      expect(line.endsWith(` ${name}`)).toBe(true);
    });
    const out = path.join(dir, 'gnu-out');
    await mkdir(out);
    await gnuTar(['-xf', file, '-C', out]);
    for (const { name, data } of entries) expect(await readFile(path.join(out, name))).toEqual(data);
  });

  it("is read by Python's tarfile member by member, owner 0:0, mode 0644, the given mtime", async () => {
    const file = path.join(dir, 'python.tar');
    await writeFile(file, archive(1234));
    const [members] = await pythonTarMembers([file]);
    expect(
      members?.map(({ name, size, mtime, mode, uid, gid, type, hex }) => ({
        name,
        size,
        mtime,
        mode,
        uid,
        gid,
        type,
        data: Buffer.from(hex, 'hex'),
      })),
    ).toEqual(
      entries.map(({ name, data }) => ({
        name,
        size: data.length,
        mtime: 1234,
        mode: 0o644,
        uid: 0,
        gid: 0,
        type: '0',
        data,
      })),
    );
  });

  it('gives the same bytes for the same entries', () => {
    expect(archive(0).equals(archive(0))).toBe(true);
    expect(archive(0).equals(archive(1))).toBe(false);
  });

  it('refuses names and sizes a tar cannot hold', () => {
    expect(() => tarFileHeader('', 1)).toThrow(/invalid tar entry name/);
    expect(() => tarFileHeader('a\0b', 1)).toThrow(/invalid tar entry name/);
    expect(() => tarFileHeader('big', 8 * 1024 ** 3)).toThrow(/unsupported size/);
  });
});
