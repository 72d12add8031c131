import { describe, expect, it } from 'vitest';
import { TileCache } from '../../activities/wsi/tile-cache.js';

const tile = 1000;

describe('the decoded-tile cache', () => {
  it('gives a cached tile to the next read, and the same slot while one read decodes it', () => {
    const cache = new TileCache(10 * tile);
    const [first] = cache.hold(['a'], tile);
    expect(first!.mustLoad).toBe(true);
    const [waiting] = cache.hold(['a'], tile);
    expect(waiting!.mustLoad).toBe(false);
    expect(waiting!.ready).toBeInstanceOf(Promise);
    expect(waiting!.buffer).toBe(first!.buffer);
    cache.loaded(first!);
    cache.release([first!, waiting!]);
    const [hit] = cache.hold(['a'], tile);
    expect(hit!.mustLoad).toBe(false);
    expect(hit!.ready).toBeUndefined();
    expect(cache.usedBytes).toBe(tile);
  });

  it('never hands an evicted tile’s memory to another decode while a read still holds it', () => {
    const cache = new TileCache(2 * tile);
    const held = cache.hold(['a', 'b'], tile);
    held.forEach((hold) => cache.loaded(hold));
    // Over the bound while a and b are held: nothing can go, so c's slot is new memory.
    const [c] = cache.hold(['c'], tile);
    expect(cache.usedBytes).toBe(3 * tile);
    const same = (x: Buffer, y: Buffer) => x.buffer === y.buffer && x.byteOffset === y.byteOffset;
    expect(held.some((hold) => same(hold.buffer, c!.buffer))).toBe(false);
    cache.loaded(c!);
    cache.release(held); // a and b go now, least recent first, until the bound holds
    expect(cache.usedBytes).toBe(2 * tile);
    const [d] = cache.hold(['d'], tile);
    expect(same(d!.buffer, held[0]!.buffer)).toBe(true); // a's slot, free again
  });

  it('fails the reads waiting on a decode that fails, and forgets the tile', async () => {
    const cache = new TileCache(10 * tile);
    const [loader] = cache.hold(['a'], tile);
    const [waiter] = cache.hold(['a'], tile);
    cache.failed(loader!, new Error('corrupt'));
    await expect(waiter!.ready).rejects.toThrow('corrupt');
    cache.release([loader!, waiter!]);
    const [again] = cache.hold(['a'], tile);
    expect(again!.mustLoad).toBe(true);
  });
});
