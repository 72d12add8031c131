import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { listAll } from '../../activities/store/object-store.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { isStoreError } from '../../activities/store/store-errors.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The behaviour every ObjectStore must have; run against each implementation. */
export function describeStoreContract(name: string, openStore: () => Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    it('puts and gets bytes, and overwrites', async () => {
      const store = await openStore();
      const info = await store.put('a/b/c.bin', Buffer.from('hello'));
      expect(info).toMatchObject({ key: 'a/b/c.bin', size: 5 });
      expect((await store.get('a/b/c.bin')).toString()).toBe('hello');
      await store.put('a/b/c.bin', Buffer.from('bye'));
      expect((await store.get('a/b/c.bin')).toString()).toBe('bye');
    });

    it('puts a stream and reads a byte range', async () => {
      const store = await openStore();
      const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 0);
      for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
      const written = await store.put('big/object.bin', Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]));
      expect(written).toMatchObject({ key: 'big/object.bin', size: bytes.length });
      expect((await store.head('big/object.bin'))?.size).toBe(bytes.length);
      const range = await readAll(await store.getStream('big/object.bin', { start: 1_000_000, end: 1_000_099 }));
      expect(range.equals(bytes.subarray(1_000_000, 1_000_100))).toBe(true);
      const tail = await readAll(await store.getStream('big/object.bin', { start: bytes.length - 5 }));
      expect(tail.equals(bytes.subarray(bytes.length - 5))).toBe(true);
      expect((await store.get('big/object.bin')).equals(bytes)).toBe(true);
    });

    it('reports missing objects as NotFound, head as undefined, and delete as a no-op', async () => {
      const store = await openStore();
      await expect(store.get('missing/key')).rejects.toSatisfy((error) => isStoreError(error, 'NotFound'));
      await expect(store.getStream('missing/key')).rejects.toSatisfy((error) => isStoreError(error, 'NotFound'));
      expect(await store.head('missing/key')).toBeUndefined();
      expect(await store.exists('missing/key')).toBe(false);
      await store.delete('missing/key');
      await store.put('gone/soon', Buffer.from('x'));
      expect(await store.exists('gone/soon')).toBe(true);
      await store.delete('gone/soon');
      expect(await store.exists('gone/soon')).toBe(false);
    });

    it('rejects keys that could escape the store', async () => {
      const store = await openStore();
      for (const key of ['', '/abs', 'a/../b', 'a//b', 'a/./b', 'trailing/']) {
        await expect(store.put(key, Buffer.from('x'))).rejects.toSatisfy((error) => isStoreError(error, 'InvalidKey'));
      }
    });

    it('lists thousands of keys by prefix, in order, page by page', async () => {
      const store = await openStore();
      const keys: string[] = [];
      for (let i = 0; i < 2100; i++) keys.push(`list/p${String(i % 7)}/item-${String(i).padStart(5, '0')}`);
      keys.push('list-sibling/not-included', 'list/p1-x/also', 'lis');
      for (let i = 0; i < keys.length; i += 100) {
        await Promise.all(keys.slice(i, i + 100).map((key) => store.put(key, Buffer.from(key))));
      }
      const expected = keys.filter((key) => key.startsWith('list/')).sort();
      const first = await store.listPage('list/', { limit: 1000 });
      expect(first.objects).toHaveLength(1000);
      expect(first.nextStartAfter).toBe(expected[999]);
      const listed: string[] = [];
      for await (const object of listAll(store, 'list/', 500)) listed.push(object.key);
      expect(listed).toEqual(expected);
      const partial: string[] = [];
      for await (const object of listAll(store, 'list/p1')) partial.push(object.key);
      expect(partial).toEqual(expected.filter((key) => key.startsWith('list/p1')));
      const after = await store.listPage('list/p3/', {
        startAfter: expected.filter((k) => k.startsWith('list/p3/'))[10],
        limit: 5,
      });
      expect(after.objects.map((o) => o.key)).toEqual(expected.filter((k) => k.startsWith('list/p3/')).slice(11, 16));
      expect((await store.listPage('nothing-here/')).objects).toEqual([]);
    });

    it('create-if-absent: exactly one of many concurrent writers wins and its bytes stay', async () => {
      const store = await openStore();
      const writers = Array.from({ length: 12 }, (_, i) => Buffer.from(`writer-${i}`));
      const results = await Promise.all(writers.map((body) => store.putIfAbsent('race/marker', body)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = writers[results.indexOf(true)];
      expect((await store.get('race/marker')).equals(winner!)).toBe(true);
      expect(await store.putIfAbsent('race/marker', Buffer.from('late'))).toBe(false);
      expect((await store.get('race/marker')).equals(winner!)).toBe(true);
    });

    it('gives a URL that reads the object', async () => {
      const store = await openStore();
      await store.put('url/object.txt', Buffer.from('through the url'), { contentType: 'text/plain' });
      const url = await store.readUrl('url/object.txt', 60);
      if (url.startsWith('file:')) {
        const { readFile } = await import('node:fs/promises');
        expect((await readFile(new URL(url))).toString()).toBe('through the url');
      } else {
        const response = await fetch(url);
        expect(response.status).toBe(200);
        expect(await response.text()).toBe('through the url');
      }
    });
  });
}
