import { Readable } from 'node:stream';
import { listAll } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { forEachBounded, StoreUpload } from './store-upload.js';
import { openClipCsvHeader, openClipCsvLine, pathgenJsonRecord } from './text-formats.js';

// The TSV and the PathGen JSON are one object each, but an export that is killed and resumes must
// not rewrite what it finished. So each is written in parts, one per shard's worth of samples
// (`<version>/parts/captions-000000.tsv`, `pathgen-000000.json`), and the parts are joined at the
// end by streaming them, in order, into the final object: the bytes are those a single pass would
// have written, on any store (a file renamed into place, or an S3 multipart upload of the stream).
// The parts are deleted once the version is published.

/** Where a version's files live; all keys under the version's prefix. */
export interface VersionFiles {
  shards: string;
  csv: string;
  images: string;
  pathgenJson: string;
  card: string;
  cardJson: string;
  /** Prefix of the text parts, until they are joined. */
  parts: string;
}

export function versionFiles(prefix: string): VersionFiles {
  return {
    shards: `${prefix}shards/`,
    csv: `${prefix}captions.tsv`,
    images: `${prefix}images/`,
    pathgenJson: `${prefix}pathgen.json`,
    card: `${prefix}dataset-card.md`,
    cardJson: `${prefix}dataset-card.json`,
    parts: `${prefix}parts/`,
  };
}

export interface TextFormats {
  csv: boolean;
  pathgenJson: boolean;
}

export function csvPartKey(files: VersionFiles, index: number): string {
  return `${files.parts}captions-${String(index).padStart(6, '0')}.tsv`;
}

export function pathgenPartKey(files: VersionFiles, index: number): string {
  return `${files.parts}pathgen-${String(index).padStart(6, '0')}.json`;
}

export interface TextSample {
  key: string;
  slideId: string;
  x: number;
  y: number;
  caption: string;
  metadata: Readonly<Record<string, unknown>>;
}

/** The current part of each text output: opened by its first line, ended with its chunk. */
export class TextParts {
  private csv: StoreUpload | undefined;
  private pathgen: StoreUpload | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly files: VersionFiles,
    private readonly formats: TextFormats,
    /** The CSV's `filepath` column is this followed by `<key>.jpg`. */
    private readonly imageRoot: string,
  ) {}

  /** `first`: the export's first sample, which the JSON writes without a leading comma. */
  async add(chunk: number, sample: TextSample, first: boolean): Promise<void> {
    if (this.formats.csv) {
      this.csv ??= new StoreUpload(this.store, csvPartKey(this.files, chunk), 'text/tab-separated-values');
      await this.csv.write(openClipCsvLine(`${this.imageRoot}${sample.key}.jpg`, sample.caption));
    }
    if (this.formats.pathgenJson) {
      this.pathgen ??= new StoreUpload(this.store, pathgenPartKey(this.files, chunk), 'application/json');
      const wsiId = stringField(sample.metadata, 'wsiId') ?? sample.slideId;
      const fileId = stringField(sample.metadata, 'fileId') ?? '';
      const record = pathgenJsonRecord(wsiId, sample.x, sample.y, sample.caption, fileId);
      await this.pathgen.write(`${first ? '\n' : ',\n'}${record}`);
    }
  }

  async endChunk(): Promise<void> {
    const uploads = [this.csv, this.pathgen];
    this.csv = undefined;
    this.pathgen = undefined;
    for (const upload of uploads) await upload?.end();
  }

  async abort(reason: Error): Promise<void> {
    await Promise.all([this.csv?.abort(reason), this.pathgen?.abort(reason)]);
    this.csv = undefined;
    this.pathgen = undefined;
  }
}

/** Writes the TSV and the JSON from their `chunks` parts each; `samples` says how the JSON ends. */
export async function joinTextParts(
  store: ObjectStore,
  files: VersionFiles,
  formats: TextFormats,
  chunks: number,
  samples: number,
): Promise<void> {
  if (formats.csv) {
    const parts = partKeys(chunks, (index) => csvPartKey(files, index));
    await store.put(files.csv, joined(store, openClipCsvHeader, parts, ''), {
      contentType: 'text/tab-separated-values',
    });
  }
  if (formats.pathgenJson) {
    const parts = partKeys(chunks, (index) => pathgenPartKey(files, index));
    await store.put(files.pathgenJson, joined(store, '[', parts, samples === 0 ? ']\n' : '\n]\n'), {
      contentType: 'application/json',
    });
  }
}

/** Removes what is left under the parts prefix, page by page. */
export async function deleteTextParts(store: ObjectStore, files: VersionFiles): Promise<void> {
  let batch: string[] = [];
  for await (const object of listAll(store, files.parts)) {
    batch.push(object.key);
    if (batch.length === 1000) {
      await forEachBounded(batch, 16, (key) => store.delete(key));
      batch = [];
    }
  }
  await forEachBounded(batch, 16, (key) => store.delete(key));
}

function* partKeys(count: number, key: (index: number) => string): Generator<string> {
  for (let index = 0; index < count; index++) yield key(index);
}

/** head, each part's bytes in order, tail: one stream, reading one part at a time. */
function joined(store: ObjectStore, head: string, parts: Iterable<string>, tail: string): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    yield Buffer.from(head, 'utf8');
    for (const key of parts) {
      for await (const chunk of await store.getStream(key)) yield chunk as Buffer;
    }
    if (tail !== '') yield Buffer.from(tail, 'utf8');
  }
  return Readable.from(bytes(), { objectMode: false });
}

function stringField(metadata: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = metadata[name];
  return typeof value === 'string' ? value : undefined;
}
