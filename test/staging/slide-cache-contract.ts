import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ByteRange, ObjectStore } from '../../activities/store/object-store.js';
import { stageFromStore } from '../../activities/staging/slide-cache.js';
import { isPathgenError } from '../../activities/common/errors.js';

/** Wraps a store to record the ranges that staging asks for. */
function recordingRanges(store: ObjectStore): { store: ObjectStore; ranges: ByteRange[] } {
  const ranges: ByteRange[] = [];
  const wrapped = Object.create(store) as ObjectStore;
  wrapped.getStream = (key, range) => {
    if (range) ranges.push(range);
    return store.getStream(key, range);
  };
  return { store: wrapped, ranges };
}

export function describeSlideCache(name: string, openStore: () => Promise<ObjectStore>): void {
  describe(`slide staging from ${name}`, () => {
    const cacheDir = () => mkdtempSync(path.join(os.tmpdir(), 'pathgen-slide-cache-'));

    it('stages once in ranged chunks, then hits the cache', async () => {
      const store = await openStore();
      const bytes = randomBytes(1_000_003);
      await store.put('slides/a.svs', bytes);
      const recorder = recordingRanges(store);
      const dir = cacheDir();
      const first = await stageFromStore('slides/a.svs', {
        store: recorder.store,
        dir,
        maxBytes: 10e6,
        chunkBytes: 300_000,
      });
      expect(first).toMatchObject({
        size: bytes.length,
        downloaded: true,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
      expect(path.basename(first.path)).toBe('a.svs');
      expect(readFileSync(first.path).equals(bytes)).toBe(true);
      expect(recorder.ranges).toEqual([
        { start: 0, end: 299_999 },
        { start: 300_000, end: 599_999 },
        { start: 600_000, end: 899_999 },
        { start: 900_000, end: 1_000_002 },
      ]);
      const second = await stageFromStore('slides/a.svs', { store: recorder.store, dir, maxBytes: 10e6 });
      expect(second).toEqual({ ...first, downloaded: false });
      expect(recorder.ranges).toHaveLength(4);
    });

    it('resumes an interrupted download where it stopped', async () => {
      const store = await openStore();
      const bytes = randomBytes(500_000);
      await store.put('slides/b.svs', bytes);
      const dir = cacheDir();
      const abort = new AbortController();
      await expect(
        stageFromStore('slides/b.svs', {
          store,
          dir,
          maxBytes: 10e6,
          chunkBytes: 100_000,
          signal: abort.signal,
          onProgress: (done) => done >= 200_000 && abort.abort(),
        }),
      ).rejects.toThrow();
      const recorder = recordingRanges(store);
      const staged = await stageFromStore('slides/b.svs', {
        store: recorder.store,
        dir,
        maxBytes: 10e6,
        chunkBytes: 100_000,
      });
      expect(recorder.ranges[0]).toEqual({ start: 200_000, end: 299_999 });
      expect(staged.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(readFileSync(staged.path).equals(bytes)).toBe(true);
    });

    it('fetches again when the object changes, and evicts the least recently used copy', async () => {
      const store = await openStore();
      const dir = cacheDir();
      await store.put('slides/c.svs', randomBytes(400_000));
      const old = await stageFromStore('slides/c.svs', { store, dir, maxBytes: 1e6 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      await store.put('slides/c.svs', randomBytes(400_001));
      const changed = await stageFromStore('slides/c.svs', { store, dir, maxBytes: 1e6 });
      expect(changed.downloaded).toBe(true);
      expect(changed.path).not.toBe(old.path);
      await store.put('slides/d.svs', randomBytes(400_000));
      const latest = await stageFromStore('slides/d.svs', { store, dir, maxBytes: 1e6 });
      expect(existsSync(old.path)).toBe(false);
      expect(statSync(latest.path).size).toBe(400_000);
      expect(existsSync(changed.path)).toBe(true);
    });

    it('reports a missing slide as SlideNotFound', async () => {
      const store = await openStore();
      await expect(stageFromStore('slides/missing.svs', { store, dir: cacheDir(), maxBytes: 1e6 })).rejects.toSatisfy(
        (error) => isPathgenError(error) && error.code === 'SlideNotFound',
      );
    });
  });
}
