import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportDataset, readExportPointer } from '../../activities/export/index.js';
import type { ExportOptions, ExportSample } from '../../activities/export/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { listAll } from '../../activities/store/object-store.js';
import { makeSamples } from './export-samples.js';
import { readTarFiles } from './tar-tools.js';

// Lets a test act the moment the pointer has been replaced, before old versions are cleaned up.
class PointerWatchingStore extends FsObjectStore {
  onPointerPut: (() => Promise<void>) | undefined;
  override async put(...args: Parameters<FsObjectStore['put']>): ReturnType<FsObjectStore['put']> {
    const result = await super.put(...args);
    if (args[0].endsWith('/LATEST.json')) await this.onPointerPut?.();
    return result;
  }
}

let dir: string;
let store: PointerWatchingStore;
const exportPrefix = 'exports/run-7';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-export-versions-'));
  store = new PointerWatchingStore({ root: dir });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function options(version: string, extra: Partial<ExportOptions> = {}): ExportOptions {
  return { store, exportPrefix, version, createdAt: '2025-01-01T00:00:00.000Z', samplesPerShard: 4, ...extra };
}

async function versionsOnDisk(): Promise<string[]> {
  const versions = new Set<string>();
  for await (const object of listAll(store, `${exportPrefix}/versions/`)) {
    versions.add(object.key.split('/')[3] as string);
  }
  return [...versions].sort();
}

/** What a trainer does: resolve the pointer once, then read every shard of that version. */
async function readResolvedExport(): Promise<{ version: string; captions: string[] }> {
  const pointer = await readExportPointer(store, exportPrefix);
  if (pointer === undefined) throw new Error('nothing published');
  const captions: string[] = [];
  for (let i = 0; i < pointer.shards; i++) {
    const shard = await store.get(`${pointer.prefix}shards/shard-${String(i).padStart(6, '0')}.tar`);
    for (const file of readTarFiles(shard)) if (file.name.endsWith('.txt')) captions.push(file.data.toString());
  }
  expect(captions).toHaveLength(pointer.samples);
  return { version: pointer.version, captions };
}

function slow(samples: ExportSample[]): ExportSample[] {
  return samples.map((sample) => ({
    ...sample,
    jpeg: async () => {
      await sleep(3);
      return await sample.jpeg();
    },
  }));
}

describe('re-export', () => {
  it('flips readers from one whole version to the next, never a mix', async () => {
    const first = await makeSamples(12);
    await exportDataset(first, options('v1'));
    const v1 = await readResolvedExport();
    expect(v1.version).toBe('v1');

    // The rerun brings two more samples and revised captions for all.
    const second = await makeSamples(14, ' (rerun)');
    const atFlip: Array<{ version: string; onDisk: string[] }> = [];
    store.onPointerPut = async () => {
      atFlip.push({ version: (await readResolvedExport()).version, onDisk: await versionsOnDisk() });
    };
    let done = false;
    const exporting = exportDataset(slow(second), options('v2')).finally(() => (done = true));
    const seen: string[] = [];
    while (!done) {
      const read = await readResolvedExport();
      seen.push(read.version);
      const rerun = read.captions.filter((caption) => caption.endsWith(' (rerun)')).length;
      if (read.version === 'v1') expect([rerun, read.captions.length]).toEqual([0, 12]);
      else expect([rerun, read.captions.length]).toEqual([14, 14]);
      await sleep(5);
    }
    const result = await exporting;
    store.onPointerPut = undefined;
    expect(seen[0]).toBe('v1');
    expect(atFlip).toEqual([{ version: 'v2', onDisk: ['v1', 'v2'] }]);
    expect(result.pointer.previousVersions).toEqual(['v1']);
    expect((await readResolvedExport()).version).toBe('v2');
    // A reader that resolved v1 before the flip can still finish reading it.
    expect(await versionsOnDisk()).toEqual(['v1', 'v2']);
  });

  it('removes versions the pointer no longer keeps, and leftovers of failed exports', async () => {
    const third = await exportDataset(await makeSamples(3), options('v3'));
    expect(third.removedVersions).toEqual(['v1']);
    expect(third.pointer.previousVersions).toEqual(['v2']);
    expect(await versionsOnDisk()).toEqual(['v2', 'v3']);

    // An export that fails midway leaves its partial version unpublished...
    const failing = (await makeSamples(10)).map((sample, i) =>
      i === 7 ? { ...sample, jpeg: () => Promise.reject(new Error('tile read failed')) } : sample,
    );
    await expect(exportDataset(failing, options('v4'))).rejects.toThrow('tile read failed');
    expect((await readExportPointer(store, exportPrefix))?.version).toBe('v3');
    expect(await versionsOnDisk()).toEqual(['v2', 'v3', 'v4']);

    // ...which the next successful export removes with the superseded ones.
    const fifth = await exportDataset(await makeSamples(2), options('v5', { retainPreviousVersions: 0 }));
    expect(fifth.removedVersions).toEqual(['v2', 'v3', 'v4']);
    expect(await versionsOnDisk()).toEqual(['v5']);
  });

  it('treats an export retried after its flip as done', async () => {
    const before = await readExportPointer(store, exportPrefix);
    const retried = await exportDataset(await makeSamples(2), options('v5'));
    expect(retried.written).toBe(false);
    expect(retried.pointer).toEqual(before);
    expect(await versionsOnDisk()).toEqual(['v5']);
  });
});
