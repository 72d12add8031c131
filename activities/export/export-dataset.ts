import { PathgenError } from '../common/errors.js';
import { exportKeys } from '../contracts/keys.js';
import type { ObjectStore } from '../store/object-store.js';
import { assertValidKey } from '../store/store-errors.js';
import { datasetCardJson, datasetCardMarkdown } from './dataset-card.js';
import type { DatasetCardJson } from './dataset-card.js';
import { DatasetStatistics } from './dataset-statistics.js';
import {
  deleteUnreferencedVersions,
  exportPointerFormat,
  readExportPointer,
  versionPattern,
  writeExportPointer,
} from './export-pointer.js';
import type { ExportPointer } from './export-pointer.js';
import { assertSampleKey, compareKeys } from './sample-key.js';
import { StoreUpload } from './store-upload.js';
import { openClipCsvHeader, openClipCsvLine, pathgenJsonRecord } from './text-formats.js';
import { WebDatasetShardWriter, shardPattern } from './webdataset-shards.js';

// One pass over the samples, in key order, writes every output of a version at once — WebDataset
// shards, the open_clip CSV with its images, the PathGen-format JSON — while the dataset card's
// statistics are gathered; then the version is published by flipping the pointer (see
// export-pointer.ts). Everything is streamed to the store: memory holds one image at a time plus
// the bounded image uploads in flight.

export interface ExportSample {
  /** Unique; see `sampleKey` (letters, digits, '_' and '-': WebDataset splits names at dots). */
  key: string;
  slideId: string;
  project?: string;
  /** Level-0 top-left corner of the patch. */
  x: number;
  y: number;
  level: number;
  mpp?: number;
  caption: string;
  /** Read only when the sample is written, so callers need not hold images in memory. */
  jpeg: () => Promise<Uint8Array>;
  /**
   * Written as `<key>.json` after the fields above. `wsiId` and `fileId` (strings) fill the
   * PathGen JSON's `wsi_id` (default: the slide id) and `file_id` (default: '').
   */
  metadata: Readonly<Record<string, unknown>>;
}

export interface ExportFormats {
  webdataset?: boolean;
  /** The open_clip CSV and the images it names (a second copy of every JPEG). */
  csv?: boolean;
  pathgenJson?: boolean;
}

export interface ExportOptions {
  store: ObjectStore;
  /** e.g. `exports/<runId>`: the pointer and all versions live under it. */
  exportPrefix: string;
  /** New for each export (e.g. from the run id and export time); an export retried with the
   *  version the pointer already names finds it published and only cleans up. */
  version: string;
  /** ISO 8601 time of the export, given by the caller (workflow time), for the card and pointer. */
  createdAt: string;
  title?: string;
  samplesPerShard?: number;
  formats?: ExportFormats;
  /** mtime of every tar member, seconds since the epoch: fixed so shards are byte-reproducible. */
  tarMtime?: number;
  /** Failures of the run by reason code, for the card. */
  failures?: Readonly<Record<string, number>>;
  /** CLIP token count of a caption (start and end tokens included), for the card's token figures. */
  countTokens?: (text: string) => number;
  tokenLimit?: number;
  /** Prefix for the CSV's `filepath` column instead of `images/` (e.g. an absolute local folder). */
  csvImageRoot?: string;
  retainPreviousVersions?: number;
  imageUploadConcurrency?: number;
  signal?: AbortSignal;
  /** Called every 100 samples and at the end, for heartbeats. */
  onProgress?: (progress: { samples: number; shards: number }) => void;
}

export interface ExportResult {
  pointer: ExportPointer;
  card: DatasetCardJson | undefined;
  /** False when the pointer already named this version (a retried export): nothing was written. */
  written: boolean;
  removedVersions: string[];
}

/**
 * Writes a new export version and publishes it. An array of samples is sorted by key here; an
 * async iterable must already come in ascending key order (checked), so a caller can stream
 * millions of samples without holding them.
 */
export async function exportDataset(
  samples: readonly ExportSample[] | AsyncIterable<ExportSample>,
  options: ExportOptions,
): Promise<ExportResult> {
  const { store, exportPrefix, version } = options;
  checkOptions(options);
  const retain = options.retainPreviousVersions ?? 1;
  const current = await readExportPointer(store, exportPrefix);
  if (current?.version === version) {
    const removedVersions = await deleteUnreferencedVersions(store, exportPrefix, current);
    return { pointer: current, card: undefined, written: false, removedVersions };
  }

  const { pointer, card } = await writeVersion(samples, options);
  pointer.previousVersions =
    current === undefined ? [] : [current.version, ...current.previousVersions].slice(0, retain);
  // The version's own copy of its pointer marks it complete before anyone is pointed at it.
  await store.put(`${pointer.prefix}export.json`, Buffer.from(`${JSON.stringify(pointer, null, 2)}\n`));
  await writeExportPointer(store, exportPrefix, pointer);
  const removedVersions = await deleteUnreferencedVersions(store, exportPrefix, pointer);
  return { pointer, card, written: true, removedVersions };
}

async function writeVersion(
  samples: readonly ExportSample[] | AsyncIterable<ExportSample>,
  options: ExportOptions,
): Promise<{ pointer: ExportPointer; card: DatasetCardJson }> {
  const { store } = options;
  const formats = { webdataset: true, csv: true, pathgenJson: true, ...options.formats };
  const samplesPerShard = options.samplesPerShard ?? 1000;
  const prefix = exportKeys.version(options.exportPrefix, options.version);
  const keys = {
    shards: `${prefix}shards/`,
    csv: `${prefix}captions.tsv`,
    images: `${prefix}images/`,
    pathgenJson: `${prefix}pathgen.json`,
    card: `${prefix}dataset-card.md`,
    cardJson: `${prefix}dataset-card.json`,
  };
  const statistics = new DatasetStatistics(options.countTokens, options.tokenLimit ?? 77);
  const shards = formats.webdataset
    ? new WebDatasetShardWriter(store, keys.shards, samplesPerShard, options.tarMtime ?? 0)
    : undefined;
  const csv = formats.csv ? new StoreUpload(store, keys.csv, 'text/tab-separated-values') : undefined;
  const pathgen = formats.pathgenJson ? new StoreUpload(store, keys.pathgenJson, 'application/json') : undefined;
  const images = new BoundedUploads(options.imageUploadConcurrency ?? 8);
  const imageRoot = options.csvImageRoot === undefined ? 'images/' : `${options.csvImageRoot.replace(/\/+$/, '')}/`;
  let count = 0;

  try {
    await csv?.write(openClipCsvHeader);
    await pathgen?.write('[');
    for await (const sample of inKeyOrder(samples)) {
      options.signal?.throwIfAborted();
      checkSample(sample);
      const jpeg = await sample.jpeg();
      const metadataJson = JSON.stringify(sampleMetadata(sample));
      await shards?.add(sample.key, { jpeg, caption: sample.caption, metadataJson });
      if (csv !== undefined) {
        await images.start(() => store.put(`${keys.images}${sample.key}.jpg`, jpeg, { contentType: 'image/jpeg' }));
        await csv.write(openClipCsvLine(`${imageRoot}${sample.key}.jpg`, sample.caption));
      }
      if (pathgen !== undefined) {
        const wsiId = stringField(sample.metadata, 'wsiId') ?? sample.slideId;
        const fileId = stringField(sample.metadata, 'fileId') ?? '';
        const record = pathgenJsonRecord(wsiId, sample.x, sample.y, sample.caption, fileId);
        await pathgen.write(`${count === 0 ? '\n' : ',\n'}${record}`);
      }
      statistics.add(sample);
      count += 1;
      if (count % 100 === 0) options.onProgress?.({ samples: count, shards: shards?.shardCount ?? 0 });
    }
    await images.drain();
    await pathgen?.write(count === 0 ? ']\n' : '\n]\n');
    const shardResults = (await shards?.finish()) ?? [];
    await csv?.end();
    await pathgen?.end();
    options.onProgress?.({ samples: count, shards: shardResults.length });

    const summary = statistics.summary();
    const pattern = shardPattern(shardResults.length);
    const card = datasetCardJson({
      title: options.title ?? `pathgen dataset ${options.exportPrefix}`,
      version: options.version,
      createdAt: options.createdAt,
      statistics: summary,
      shards: shardResults.length,
      samplesPerShard,
      failures: options.failures ?? {},
      files: {
        ...(pattern === null ? {} : { shards: `${keys.shards}${pattern}` }),
        ...(csv === undefined ? {} : { csv: keys.csv, images: keys.images }),
        ...(pathgen === undefined ? {} : { pathgenJson: keys.pathgenJson }),
      },
    });
    await store.put(keys.cardJson, Buffer.from(`${JSON.stringify(card, null, 2)}\n`), {
      contentType: 'application/json',
    });
    await store.put(keys.card, Buffer.from(datasetCardMarkdown(card)), { contentType: 'text/markdown' });
    const pointer: ExportPointer = {
      format: exportPointerFormat,
      version: options.version,
      prefix,
      createdAt: options.createdAt,
      samples: summary.samples,
      slides: summary.slides,
      shards: shardResults.length,
      samplesPerShard,
      shardPattern: pattern === null ? null : `${keys.shards}${pattern}`,
      files: {
        ...(csv === undefined ? {} : { csv: keys.csv, images: keys.images }),
        ...(pathgen === undefined ? {} : { pathgenJson: keys.pathgenJson }),
        card: keys.card,
        cardJson: keys.cardJson,
      },
      previousVersions: [],
    };
    return { pointer, card };
  } catch (error) {
    const reason = error instanceof Error ? error : new Error(String(error));
    await Promise.all([shards?.abort(reason), csv?.abort(reason), pathgen?.abort(reason), images.settle()]);
    throw error;
  }
}

/** Arrays are sorted here; streams must arrive sorted. Either way a repeated key is refused. */
async function* inKeyOrder(
  samples: readonly ExportSample[] | AsyncIterable<ExportSample>,
): AsyncGenerator<ExportSample> {
  const source = Array.isArray(samples)
    ? [...(samples as readonly ExportSample[])].sort((a, b) => compareKeys(a.key, b.key))
    : samples;
  let previous: string | undefined;
  for await (const sample of source as Iterable<ExportSample> | AsyncIterable<ExportSample>) {
    if (previous !== undefined) {
      const order = compareKeys(previous, sample.key);
      if (order === 0) {
        throw new PathgenError('InvalidInput', `two samples have the key ${sample.key}`, { key: sample.key });
      }
      if (order > 0) {
        throw new PathgenError('InvalidInput', `samples must come in key order: ${sample.key} after ${previous}`, {
          key: sample.key,
          previous,
        });
      }
    }
    previous = sample.key;
    yield sample;
  }
}

const reservedMetadataKeys = ['key', 'slideId', 'project', 'x', 'y', 'level', 'mpp'] as const;

function sampleMetadata(sample: ExportSample): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    key: sample.key,
    slideId: sample.slideId,
    project: sample.project,
    x: sample.x,
    y: sample.y,
    level: sample.level,
    mpp: sample.mpp,
  };
  for (const name of reservedMetadataKeys) {
    if (name in sample.metadata && sample.metadata[name] !== fields[name]) {
      throw new PathgenError('InvalidInput', `metadata of ${sample.key} sets ${name} differently from the sample`, {
        key: sample.key,
        field: name,
      });
    }
  }
  return { ...fields, ...sample.metadata };
}

function checkSample(sample: ExportSample): void {
  assertSampleKey(sample.key);
  if (sample.caption.trim() === '') {
    throw new PathgenError('InvalidInput', `sample ${sample.key} has an empty caption`, { key: sample.key });
  }
  for (const [name, value] of [
    ['x', sample.x],
    ['y', sample.y],
    ['level', sample.level],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new PathgenError('InvalidInput', `sample ${sample.key}: ${name} must be a non-negative integer`, {
        key: sample.key,
        [name]: value,
      });
    }
  }
}

function checkOptions(options: ExportOptions): void {
  assertValidKey(`${options.exportPrefix}/LATEST.json`);
  if (!versionPattern.test(options.version)) {
    throw new PathgenError('InvalidInput', `export version ${JSON.stringify(options.version)} is not a valid name`, {
      version: options.version,
    });
  }
  const perShard = options.samplesPerShard ?? 1000;
  if (!Number.isSafeInteger(perShard) || perShard < 1) {
    throw new PathgenError('InvalidInput', `samplesPerShard must be a positive integer, got ${perShard}`);
  }
}

function stringField(metadata: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = metadata[name];
  return typeof value === 'string' ? value : undefined;
}

/** Image uploads run beside the main stream, a few at a time; the first failure stops the export. */
class BoundedUploads {
  private readonly running = new Set<Promise<unknown>>();
  private failure: Error | undefined;

  constructor(private readonly limit: number) {}

  async start(upload: () => Promise<unknown>): Promise<void> {
    this.throwIfFailed();
    const promise = upload()
      .catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      })
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
    if (this.running.size >= this.limit) await Promise.race(this.running);
    this.throwIfFailed();
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  async settle(): Promise<void> {
    await Promise.all(this.running);
  }
}
