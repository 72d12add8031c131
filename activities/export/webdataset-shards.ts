import type { ObjectStore, PutResult } from '../store/object-store.js';
import { StoreUpload } from './store-upload.js';
import { tarEnd, tarFileEntry, tarFileHeader, tarPadding } from './tar-writer.js';

// WebDataset shards as open_clip's `--dataset-type webdataset` reads them: plain tar files named
// shard-000000.tar, shard-000001.tar, …, each holding up to `samplesPerShard` samples whose files
// (<key>.jpg, <key>.txt, <key>.json) are adjacent. Each shard is streamed to the store as it is
// written, so memory holds one image at a time, not a shard.

export interface ShardFiles {
  jpeg: Uint8Array;
  caption: string;
  metadataJson: string;
}

export function shardName(index: number): string {
  return `shard-${String(index).padStart(6, '0')}.tar`;
}

/** The brace pattern open_clip and webdataset expand: `shard-{000000..000012}.tar`. */
export function shardPattern(count: number): string | null {
  if (count === 0) return null;
  if (count === 1) return shardName(0);
  return `shard-{${String(0).padStart(6, '0')}..${String(count - 1).padStart(6, '0')}}.tar`;
}

export class WebDatasetShardWriter {
  private current: StoreUpload | undefined;
  private inShard = 0;
  private readonly written: PutResult[] = [];

  constructor(
    private readonly store: ObjectStore,
    /** Key prefix ending in '/'. */
    private readonly prefix: string,
    private readonly samplesPerShard: number,
    private readonly mtime: number,
    /** Index of the first shard this writer writes: a resumed export continues the numbering. */
    private readonly firstShard = 0,
  ) {}

  /** Shards of the export so far, those of earlier attempts included. */
  get shardCount(): number {
    return this.firstShard + this.written.length + (this.current === undefined ? 0 : 1);
  }

  async add(key: string, files: ShardFiles): Promise<void> {
    if (this.current === undefined) {
      const index = this.firstShard + this.written.length;
      this.current = new StoreUpload(this.store, this.prefix + shardName(index), 'application/x-tar');
    }
    const options = { mtime: this.mtime };
    const upload = this.current;
    await upload.write(tarFileHeader(`${key}.jpg`, files.jpeg.length, options));
    await upload.write(files.jpeg);
    await upload.write(tarPadding(files.jpeg.length));
    await upload.write(tarFileEntry(`${key}.txt`, Buffer.from(files.caption, 'utf8'), options));
    await upload.write(tarFileEntry(`${key}.json`, Buffer.from(files.metadataJson, 'utf8'), options));
    this.inShard += 1;
    if (this.inShard === this.samplesPerShard) await this.closeShard();
  }

  /** Ends the current shard; returns every shard this writer wrote. */
  async finish(): Promise<PutResult[]> {
    await this.closeShard();
    return this.written;
  }

  async abort(reason: Error): Promise<void> {
    const upload = this.current;
    this.current = undefined;
    await upload?.abort(reason);
  }

  private async closeShard(): Promise<void> {
    const upload = this.current;
    if (upload === undefined) return;
    this.current = undefined;
    this.inShard = 0;
    await upload.write(tarEnd());
    this.written.push(await upload.end());
  }
}
