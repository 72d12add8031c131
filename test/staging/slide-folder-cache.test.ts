import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPathgenError } from '../../activities/common/errors.js';
import { localSlidePath } from '../../activities/staging/local-slide.js';
import { stageFolderFromStore } from '../../activities/staging/slide-folder-cache.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import type { ByteRange, ObjectStore } from '../../activities/store/object-store.js';

// A slide that is a folder of store objects (a DICOM series) staged as one folder of the cache.
// The store is a real fs store seen as a remote one (no localFile), recording the ranges asked for.

function remoteView(store: ObjectStore): { store: ObjectStore; ranges: (ByteRange & { key: string })[] } {
  const ranges: (ByteRange & { key: string })[] = [];
  const view = Object.create(store) as ObjectStore;
  Object.defineProperty(view, 'localFile', { value: undefined });
  view.getStream = (key, range) => {
    if (range) ranges.push({ key, ...range });
    return store.getStream(key, range);
  };
  return { store: view, ranges };
}

async function seriesStore(): Promise<{ store: FsObjectStore; files: Record<string, Buffer> }> {
  const store = new FsObjectStore({ root: mkdtempSync(path.join(os.tmpdir(), 'pathgen-folder-store-')) });
  const files = {
    'level-0.dcm': randomBytes(250_001),
    'level-1.dcm': randomBytes(40_000),
    'label.dcm': randomBytes(7),
  };
  for (const [name, bytes] of Object.entries(files)) await store.put(`slides/case-1/${name}`, bytes);
  await store.put('slides/case-1/nested/other.dcm', randomBytes(10));
  await store.put('slides/case-10.svs', randomBytes(10));
  return { store, files };
}

const cacheDir = () => mkdtempSync(path.join(os.tmpdir(), 'pathgen-folder-cache-'));

describe('staging a folder slide from the store', () => {
  it('stages the folder’s own objects in ranged chunks, once', async () => {
    const { store, files } = await seriesStore();
    const remote = remoteView(store);
    const dir = cacheDir();
    const progress: number[] = [];
    const staged = await stageFolderFromStore('slides/case-1', {
      store: remote.store,
      dir,
      maxBytes: 10e6,
      chunkBytes: 100_000,
      onProgress: (done) => progress.push(done),
    });
    expect(staged).toMatchObject({ size: 290_008, downloaded: true });
    expect(readdirSync(staged!.path).sort()).toEqual(['.staged', 'label.dcm', 'level-0.dcm', 'level-1.dcm']);
    for (const [name, bytes] of Object.entries(files))
      expect(readFileSync(path.join(staged!.path, name)).equals(bytes), name).toBe(true);
    expect(remote.ranges.filter((range) => range.key.endsWith('level-0.dcm'))).toEqual([
      { key: 'slides/case-1/level-0.dcm', start: 0, end: 99_999 },
      { key: 'slides/case-1/level-0.dcm', start: 100_000, end: 199_999 },
      { key: 'slides/case-1/level-0.dcm', start: 200_000, end: 250_000 },
    ]);
    expect(progress[progress.length - 1]).toBe(290_008);

    const again = await stageFolderFromStore('slides/case-1', { store: remote.store, dir, maxBytes: 10e6 });
    expect(again).toEqual({ ...staged, downloaded: false });
    expect(remote.ranges).toHaveLength(5);
  });

  it('stages again when a member changes, and finds nothing under a key with no objects', async () => {
    const { store } = await seriesStore();
    const dir = cacheDir();
    const first = await stageFolderFromStore('slides/case-1', { store, dir, maxBytes: 10e6 });
    await store.put('slides/case-1/level-1.dcm', randomBytes(41_000));
    const second = await stageFolderFromStore('slides/case-1', { store, dir, maxBytes: 10e6 });
    expect(second!.path).not.toBe(first!.path);
    expect(second!.size).toBe(291_008);
    expect(await stageFolderFromStore('slides/none', { store, dir, maxBytes: 10e6 })).toBeUndefined();
  });

  it('localSlidePath stages `key` and `key/` as the folder; a key of nothing stays SlideNotFound', async () => {
    const { store } = await seriesStore();
    const deps = { store: remoteView(store).store, slideCacheDir: cacheDir(), slideCacheMaxBytes: 10e6 };
    const signal = new AbortController().signal;
    const staged = await localSlidePath(deps, 'slides/case-1', signal);
    expect(await localSlidePath(deps, 'slides/case-1/', signal)).toBe(staged);
    expect(readdirSync(staged)).toContain('level-0.dcm');
    const missing = await localSlidePath(deps, 'slides/case-2', signal).catch((error: unknown) => error);
    expect(isPathgenError(missing) && missing.code).toBe('SlideNotFound');
  });
});
