// Decoded tiles, least recently used first out, bounded in bytes. Neighbouring patches share edge
// tiles, so a few dozen MB saves most re-decodes; a tile already being decoded for one read is
// awaited by the next read instead of being decoded twice.

export class TileCache {
  private readonly entries = new Map<string, Buffer>();
  private readonly pending = new Map<string, Promise<Buffer>>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get usedBytes(): number {
    return this.bytes;
  }

  /** A decoded tile, a decode in progress, or undefined. */
  lookup(key: string): Buffer | Promise<Buffer> | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    return this.pending.get(key);
  }

  /** Runs one decode for several tiles, registering each as pending until it lands in the cache. */
  loadAll(keys: string[], load: () => Promise<Buffer[]>): Promise<Buffer>[] {
    const loading = load();
    return keys.map((key, i) => {
      const one = loading.then(
        (values) => {
          this.pending.delete(key);
          const value = values[i]!;
          this.put(key, value);
          return value;
        },
        (error: unknown) => {
          this.pending.delete(key);
          throw error;
        },
      );
      this.pending.set(key, one);
      return one;
    });
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private put(key: string, value: Buffer): void {
    if (value.length > this.maxBytes) return;
    const previous = this.entries.get(key);
    if (previous) this.bytes -= previous.length;
    this.entries.set(key, value);
    this.bytes += value.length;
    for (const [oldest, buffer] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= buffer.length;
    }
  }
}
