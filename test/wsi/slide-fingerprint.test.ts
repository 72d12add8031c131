import { mkdir, mkdtemp, open, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slideFingerprint } from '../../activities/wsi/slide-fingerprint.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-fingerprint-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function slideFile(name: string, bytes: number, seed: number): Promise<string> {
  const path = join(dir, name);
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) data.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  await writeFile(path, data);
  await utimes(path, 1_700_000_000, 1_700_000_000);
  return path;
}

describe('slide fingerprints', () => {
  it('are stable, and change with the size, the mtime or bytes in a sampled block', async () => {
    const path = await slideFile('a.svs', 8 * 1024 * 1024, 1);
    const first = await slideFingerprint(path);
    expect(await slideFingerprint(path)).toBe(first);
    expect(first).toMatch(/^[0-9a-f]{64}$/);

    await utimes(path, 1_700_000_000, 1_700_000_123);
    const touched = await slideFingerprint(path);
    expect(touched).not.toBe(first);

    // A rewrite of the header (where TIFF directories live) in place, mtime put back.
    const handle = await open(path, 'r+');
    await handle.write(Buffer.from('changed'), 0, 7, 100);
    await handle.close();
    await utimes(path, 1_700_000_000, 1_700_000_123);
    expect(await slideFingerprint(path)).not.toBe(touched);

    const longer = await slideFile('b.svs', 8 * 1024 * 1024 + 4, 1);
    expect(await slideFingerprint(longer)).not.toBe(first);
  });

  it('sample, not hash, the file: a byte changed between samples with size and mtime kept goes unseen', async () => {
    // The trade made on purpose (a whole-file hash of a 3 GB slide on every open costs seconds):
    // slides are not edited in place byte by byte; a rewrite changes the mtime.
    const path = await slideFile('d.svs', 64 * 1024 * 1024, 2);
    const before = await slideFingerprint(path);
    const handle = await open(path, 'r+');
    await handle.write(Buffer.from('x'), 0, 1, 2 * 1024 * 1024 + 100_000); // inside no sampled block
    await handle.close();
    await utimes(path, 1_700_000_000, 1_700_000_000);
    expect(await slideFingerprint(path)).toBe(before);
    const small = await slideFile('c.svs', 100, 3);
    expect(await slideFingerprint(small)).not.toBe(before);
  });

  it('of a MIRAX slide cover its data folder', async () => {
    const index = await slideFile('m.mrxs', 4096, 4);
    await rm(join(dir, 'm'), { recursive: true, force: true });
    await mkdir(join(dir, 'm'));
    await writeFile(join(dir, 'm', 'Data0000.dat'), 'tiles');
    await utimes(join(dir, 'm', 'Data0000.dat'), 1_700_000_000, 1_700_000_000);
    const before = await slideFingerprint(index);
    await writeFile(join(dir, 'm', 'Data0000.dat'), 'other');
    await utimes(join(dir, 'm', 'Data0000.dat'), 1_700_000_000, 1_700_000_000);
    expect(await slideFingerprint(index)).not.toBe(before);
  });
});
