// Decoded tiles, least recently used first out, bounded in bytes. Neighbouring patches share edge
// tiles, so a few dozen MB saves most re-decodes; a tile already being decoded for one read is
// awaited by the next read instead of being decoded twice.
//
// The memory is reused, never reallocated per decode: tiles live in slots carved from a few large
// slabs, and a slot goes back to its pool only when no read holds it. (A fresh buffer per decoded
// tile made V8 run a full collection every few reads, for the external memory alone.) Readers
// hold the tiles they use and release them when their region is composed; an evicted tile's slot
// is reused only once the last read holding it has let go.

interface Slot {
  buffer: Buffer;
  holders: number;
}

interface Entry {
  slot: Slot;
  /** Until the decode lands: settles when it does. */
  pending?: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void };
}

export interface TileHold {
  key: string;
  /** The tile's pixels, or where the caller that must load it writes them. */
  buffer: Buffer;
  /** The caller decodes this tile into `buffer`, then calls `loaded` or `failed`. */
  mustLoad: boolean;
  /** Another read is decoding it: settles when that decode does. */
  ready?: Promise<void>;
  slot: Slot;
}

const slabBytes = 8 * 1024 * 1024;

export class TileCache {
  private readonly entries = new Map<string, Entry>();
  private readonly free = new Map<number, Slot[]>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get usedBytes(): number {
    return this.bytes;
  }

  /** Holds each key's tile of `tileBytes` bytes: cached, being decoded, or a slot to decode into. */
  hold(keys: string[], tileBytes: number): TileHold[] {
    const holds = keys.map((key): TileHold => {
      const entry = this.entries.get(key);
      if (entry) {
        this.entries.delete(key);
        this.entries.set(key, entry);
        entry.slot.holders++;
        const hold: TileHold = { key, buffer: entry.slot.buffer, mustLoad: false, slot: entry.slot };
        if (entry.pending) hold.ready = entry.pending.promise;
        return hold;
      }
      const slot = this.take(tileBytes);
      slot.holders = 1;
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      promise.catch(() => undefined); // a read that waits on it sees the failure; none may wait
      this.entries.set(key, { slot, pending: { promise, resolve, reject } });
      this.bytes += tileBytes;
      return { key, buffer: slot.buffer, mustLoad: true, slot };
    });
    this.evict();
    return holds;
  }

  loaded(hold: TileHold): void {
    const entry = this.entries.get(hold.key);
    if (entry?.slot !== hold.slot || !entry.pending) return;
    const { resolve } = entry.pending;
    delete entry.pending;
    resolve();
  }

  /** The decode failed: readers waiting on it fail too, and the tile is not cached. */
  failed(hold: TileHold, error: unknown): void {
    const entry = this.entries.get(hold.key);
    if (entry?.slot !== hold.slot) return;
    entry.pending?.reject(error);
    this.entries.delete(hold.key);
    this.bytes -= hold.slot.buffer.length;
  }

  release(holds: TileHold[]): void {
    for (const { key, slot } of holds) {
      slot.holders--;
      if (slot.holders === 0 && this.entries.get(key)?.slot !== slot) this.recycle(slot);
    }
    this.evict();
  }

  clear(): void {
    this.entries.clear();
    this.free.clear();
    this.bytes = 0;
  }

  private evict(): void {
    if (this.bytes <= this.maxBytes) return;
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      if (entry.slot.holders > 0) continue; // in use: evicted once released
      this.entries.delete(key);
      this.bytes -= entry.slot.buffer.length;
      this.recycle(entry.slot);
    }
  }

  private recycle(slot: Slot): void {
    const pool = this.free.get(slot.buffer.length);
    if (pool) pool.push(slot);
    else this.free.set(slot.buffer.length, [slot]);
  }

  private take(tileBytes: number): Slot {
    const pool = this.free.get(tileBytes);
    const reused = pool?.pop();
    if (reused) return reused;
    // A slab of slots at a time; a tile larger than a slab gets one of its own.
    const count = Math.max(1, Math.floor(slabBytes / tileBytes));
    const slab = Buffer.allocUnsafeSlow(count * tileBytes);
    for (let i = 1; i < count; i++)
      this.recycle({ buffer: slab.subarray(i * tileBytes, (i + 1) * tileBytes), holders: 0 });
    return { buffer: slab.subarray(0, tileBytes), holders: 0 };
  }
}
