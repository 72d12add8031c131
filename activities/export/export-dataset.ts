import { exportKeys } from '../contracts/keys.js';
import type { ObjectStore } from '../store/object-store.js';
import { datasetCardJson, datasetCardMarkdown } from './dataset-card.js';
import type { DatasetCardJson, DatasetReviewCounts } from './dataset-card.js';
import { DatasetStatistics } from './dataset-statistics.js';
import {
  assertCheckpointFits,
  canonicalLayout,
  exportCheckpointFormat,
  usableCheckpoint,
} from './export-checkpoint.js';
import type { ExportCheckpoint, ExportLayout } from './export-checkpoint.js';
import { BoundedUploads, checkOptions, checkSample, inKeyOrder, sampleMetadata } from './export-checks.js';
import type { CheckedSample } from './export-checks.js';
import {
  deleteUnreferencedVersions,
  exportPointerFormat,
  readExportPointer,
  writeExportPointer,
} from './export-pointer.js';
import type { ExportPointer } from './export-pointer.js';
import { compareKeys } from './sample-key.js';
import { deleteTextParts, joinTextParts, TextParts, versionFiles } from './text-parts.js';
import type { VersionFiles } from './text-parts.js';
import { WebDatasetShardWriter, shardPattern } from './webdataset-shards.js';

// One pass over the samples, in key order, writes every output of a version at once — WebDataset
// shards, the open_clip CSV with its images, the PathGen-format JSON — while the dataset card's
// statistics are gathered; then the version is published by flipping the pointer (see
// export-pointer.ts). Everything is streamed to the store: memory holds one image at a time plus
// the bounded image uploads in flight, and nothing grows with the number of samples.
//
// The pass goes in chunks of `samplesPerShard` samples: a chunk's shard, its part of the TSV and of
// the JSON (text-parts.ts) and its images are all stored before the next chunk starts, and then
// `onCheckpoint` gets where the export stands (export-checkpoint.ts). An export given that
// checkpoint back (`resumeFrom`) skips the samples it covers without reading their images and
// writes the rest: the result is byte for byte what one uninterrupted pass writes.

/** A sample as exportDataset takes it: the checked fields (export-checks.ts) and its image. */
export interface ExportSample extends CheckedSample {
  /** Read only when the sample is written, so callers need not hold images in memory. */
  jpeg: () => Promise<Uint8Array>;
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
  /** What honouring the run's reviews did, for the card (read after the last sample, so it may fill while they stream). */
  review?: Readonly<DatasetReviewCounts>;
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
  /**
   * Where an earlier attempt of this version stopped, as its `onCheckpoint` gave it (check it with
   * `usableCheckpoint` first: this export trusts that its chunks are stored). Samples up to its
   * `lastKey` are skipped unread.
   */
  resumeFrom?: ExportCheckpoint;
  /** Called when a chunk (a shard's worth of samples, in every format) is stored; small, JSON. */
  onCheckpoint?: (checkpoint: ExportCheckpoint) => void;
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
    // An attempt killed after the flip may have left the text parts behind.
    await deleteTextParts(store, versionFiles(current.prefix));
    const removedVersions = await deleteUnreferencedVersions(store, exportPrefix, current);
    return { pointer: current, card: undefined, written: false, removedVersions };
  }

  const { pointer, card } = await writeVersion(samples, options);
  pointer.previousVersions =
    current === undefined ? [] : [current.version, ...current.previousVersions].slice(0, retain);
  // The version's own copy of its pointer marks it complete before anyone is pointed at it.
  await store.put(`${pointer.prefix}export.json`, Buffer.from(`${JSON.stringify(pointer, null, 2)}\n`));
  await writeExportPointer(store, exportPrefix, pointer);
  await deleteTextParts(store, versionFiles(pointer.prefix));
  const removedVersions = await deleteUnreferencedVersions(store, exportPrefix, pointer);
  return { pointer, card, written: true, removedVersions };
}

/**
 * The checkpoint in `details` (an earlier attempt's `onCheckpoint`, e.g. from a heartbeat) when an
 * export with these options can resume from it: same version and layout, its chunks all stored.
 * Undefined means start over.
 */
export async function resumableCheckpoint(
  details: unknown,
  options: ExportOptions,
): Promise<ExportCheckpoint | undefined> {
  if (details === undefined || details === null) return undefined;
  const files = versionFiles(exportKeys.version(options.exportPrefix, options.version));
  return await usableCheckpoint(options.store, details, { version: options.version, layout: layoutOf(options), files });
}

function layoutOf(options: ExportOptions): ExportLayout {
  const formats = { webdataset: true, csv: true, pathgenJson: true, ...options.formats };
  return canonicalLayout({
    samplesPerShard: options.samplesPerShard ?? 1000,
    formats: { webdataset: formats.webdataset, csv: formats.csv, pathgenJson: formats.pathgenJson },
    tarMtime: options.tarMtime ?? 0,
    imageRoot: options.csvImageRoot === undefined ? 'images/' : `${options.csvImageRoot.replace(/\/+$/, '')}/`,
  });
}

async function writeVersion(
  samples: readonly ExportSample[] | AsyncIterable<ExportSample>,
  options: ExportOptions,
): Promise<{ pointer: ExportPointer; card: DatasetCardJson }> {
  const { store, version } = options;
  const layout = layoutOf(options);
  const { formats, samplesPerShard } = layout;
  const prefix = exportKeys.version(options.exportPrefix, version);
  const files = versionFiles(prefix);
  const resume = options.resumeFrom;
  if (resume !== undefined) assertCheckpointFits(resume, { version, layout, files });
  const tokenLimit = options.tokenLimit ?? 77;
  const statistics =
    resume === undefined
      ? new DatasetStatistics(options.countTokens, tokenLimit)
      : DatasetStatistics.fromState(resume.statistics, options.countTokens, tokenLimit);
  let chunks = resume?.chunks ?? 0;
  let count = resume?.samples ?? 0;
  let inChunk = 0;
  let lastKey = resume?.lastKey ?? '';
  const shards = formats.webdataset
    ? new WebDatasetShardWriter(store, files.shards, samplesPerShard, layout.tarMtime, chunks)
    : undefined;
  const text = new TextParts(store, files, formats, layout.imageRoot);
  const images = new BoundedUploads(options.imageUploadConcurrency ?? 8);
  const shardCount = () => (formats.webdataset ? chunks + (inChunk > 0 ? 1 : 0) : 0);
  // Everything of the chunk stored before the checkpoint says so.
  const endChunk = async () => {
    await images.drain();
    await shards?.finish();
    await text.endChunk();
    chunks += 1;
    inChunk = 0;
  };

  try {
    for await (const sample of inKeyOrder(samples)) {
      options.signal?.throwIfAborted();
      if (resume !== undefined && compareKeys(sample.key, resume.lastKey) <= 0) continue;
      checkSample(sample);
      const metadataJson = JSON.stringify(sampleMetadata(sample));
      statistics.add(sample);
      const jpeg = await sample.jpeg();
      await shards?.add(sample.key, { jpeg, caption: sample.caption, metadataJson });
      if (formats.csv) {
        await images.start(() => store.put(`${files.images}${sample.key}.jpg`, jpeg, { contentType: 'image/jpeg' }));
      }
      await text.add(chunks, sample, count === 0);
      count += 1;
      inChunk += 1;
      lastKey = sample.key;
      if (inChunk === samplesPerShard) {
        await endChunk();
        options.onCheckpoint?.({
          format: exportCheckpointFormat,
          version,
          layout,
          chunks,
          lastKey,
          samples: count,
          statistics: statistics.state(),
          parts: files.parts,
        });
      }
      if (count % 100 === 0) options.onProgress?.({ samples: count, shards: shardCount() });
    }
    // The last, partial chunk gets no checkpoint: a resumed export writes it again.
    if (inChunk > 0) await endChunk();
    await joinTextParts(store, files, formats, chunks, count);
    options.onProgress?.({ samples: count, shards: shardCount() });
    return await writeCard(options, layout, files, statistics, formats.webdataset ? chunks : 0);
  } catch (error) {
    const reason = error instanceof Error ? error : new Error(String(error));
    await Promise.all([shards?.abort(reason), text.abort(reason), images.settle()]);
    throw error;
  }
}

/** The dataset card (Markdown and JSON) and the pointer that will name the version. */
async function writeCard(
  options: ExportOptions,
  layout: ExportLayout,
  files: VersionFiles,
  statistics: DatasetStatistics,
  shards: number,
): Promise<{ pointer: ExportPointer; card: DatasetCardJson }> {
  const { store } = options;
  const { formats, samplesPerShard } = layout;
  const summary = statistics.summary();
  const pattern = shardPattern(shards);
  const textFiles = {
    ...(formats.csv ? { csv: files.csv, images: files.images } : {}),
    ...(formats.pathgenJson ? { pathgenJson: files.pathgenJson } : {}),
  };
  const card = datasetCardJson({
    title: options.title ?? `pathgen dataset ${options.exportPrefix}`,
    version: options.version,
    createdAt: options.createdAt,
    statistics: summary,
    shards,
    samplesPerShard,
    failures: options.failures ?? {},
    ...(options.review !== undefined ? { review: { ...options.review } } : {}),
    files: { ...(pattern === null ? {} : { shards: `${files.shards}${pattern}` }), ...textFiles },
  });
  await store.put(files.cardJson, Buffer.from(`${JSON.stringify(card, null, 2)}\n`), {
    contentType: 'application/json',
  });
  await store.put(files.card, Buffer.from(datasetCardMarkdown(card)), { contentType: 'text/markdown' });
  const pointer: ExportPointer = {
    format: exportPointerFormat,
    version: options.version,
    prefix: exportKeys.version(options.exportPrefix, options.version),
    createdAt: options.createdAt,
    samples: summary.samples,
    slides: summary.slides,
    shards,
    samplesPerShard,
    shardPattern: pattern === null ? null : `${files.shards}${pattern}`,
    files: { ...textFiles, card: files.card, cardJson: files.cardJson },
    previousVersions: [],
  };
  return { pointer, card };
}
