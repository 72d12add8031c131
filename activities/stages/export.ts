import { Context } from '@temporalio/activity';
import path from 'node:path';
import { withTypedFailures } from '../runtime/activity-failure.js';
import { PathgenError } from '../common/errors.js';
import { compareKeys, exportDataset, sampleKey } from '../export/index.js';
import type { DatasetCardJson, ExportFormats, ExportPointer, ExportSample } from '../export/index.js';
import { whileHeartbeating } from '../runtime/heartbeat.js';
import { exportKeys, runKeys } from '../contracts/keys.js';
import type { SampleRef, SlideRecord } from '../contracts/slide-record.js';
import { listAll } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { assertValidPrefix, isStoreError } from '../store/store-errors.js';

// The export stage on the CPU queue: a run's slide records (the slide workflow's last word on each
// slide, see contracts/slide-record.ts) → one published export version. Samples must reach exportDataset in
// key order without the run's sample list in memory: slides are visited in the order of their
// keys' prefix (`<slide>_`), and only slides whose prefixes nest (slide "a" and slide "a_1" share
// keys' ranges) are merged before sorting, so memory holds one slide's samples at a time.

export interface ExportRunInput {
  runId: string;
  /** Default `exports/<runId>`. */
  exportPrefix?: string;
  /** New for each export, given by the workflow; a retry with the same version publishes once. */
  version: string;
  /** ISO 8601, given by the workflow. */
  createdAt: string;
  samplesPerShard?: number;
  formats?: ExportFormats;
  /** Prefix of the CSV's `filepath` column instead of `images/`. */
  csvImageRoot?: string;
  /**
   * Failures no slide record holds, by reason, for the card: e.g. materialize mode's records with
   * an unknown wsi_id or repeated positions.
   */
  additionalFailures?: Record<string, number>;
}

export interface ExportRunResult {
  exportPrefix: string;
  version: string;
  samples: number;
  shards: number;
  /** Slide records of the run. */
  slides: number;
  failedSlides: number;
  /** Failed slides by reason and failed samples by code, as the dataset card lists them. */
  failures: Record<string, number>;
  pointerKey: string;
  /**
   * The shards as open_clip's `--train-data` takes them: a local path pattern for a filesystem
   * store, an `s3://` URI pattern for S3; null when nothing was exported.
   */
  urlPattern: string | null;
  /** False when this version was already published (a retried activity): nothing was written. */
  written: boolean;
}

export type ExportHeartbeat =
  { phase: 'listing' } | { phase: 'exporting'; slides: number; samples: number; shards: number };

export interface ExportDeps {
  store: ObjectStore;
  /** CLIP token count of a caption, for the dataset card's token figures. */
  countTokens?: (text: string) => number;
}

/** Failure codes of samples the slide record lists as captioned but whose pieces are not in the store. */
export const exportSampleFailures = {
  recordMissing: 'CaptionRecordMissing',
  captionMissing: 'CaptionMissing',
  imageMissing: 'PatchImageMissing',
} as const;

export function createExportActivities(deps: ExportDeps) {
  return {
    /** Exports a run's captioned samples as WebDataset shards, CSV, PathGen JSON and a dataset card. */
    exportRun: (input: ExportRunInput) => withTypedFailures(() => exportRun(deps, input)),
  };
}

export type ExportActivities = ReturnType<typeof createExportActivities>;

interface Tally {
  slides: number;
  failedSlides: number;
  failures: Record<string, number>;
}

const readAheadSamples = 16;

async function exportRun(deps: ExportDeps, input: ExportRunInput): Promise<ExportRunResult> {
  const { store } = deps;
  const context = Context.current();
  const signal = context.cancellationSignal;
  assertValidPrefix(runKeys.slideRecords(input.runId));
  const exportPrefix = input.exportPrefix ?? exportKeys.prefix(input.runId);
  const tally: Tally = { slides: 0, failedSlides: 0, failures: { ...input.additionalFailures } };
  let progress: ExportHeartbeat = { phase: 'listing' };

  const outcome = await whileHeartbeating(
    () => progress,
    async () => {
      const slides = await listSlideRecords(store, input.runId);
      const samples = runSamples(store, input.runId, slides, tally, signal);
      return await exportDataset(samples, {
        store,
        exportPrefix,
        version: input.version,
        createdAt: input.createdAt,
        title: `pathgen dataset of run ${input.runId}`,
        ...(input.samplesPerShard !== undefined ? { samplesPerShard: input.samplesPerShard } : {}),
        ...(input.formats !== undefined ? { formats: input.formats } : {}),
        ...(input.csvImageRoot !== undefined ? { csvImageRoot: input.csvImageRoot } : {}),
        ...(deps.countTokens !== undefined ? { countTokens: deps.countTokens } : {}),
        // Filled while the samples stream: exportDataset reads it for the card after the last sample.
        failures: tally.failures,
        signal,
        onProgress: ({ samples: count, shards }) => {
          progress = { phase: 'exporting', slides: tally.slides, samples: count, shards };
          context.heartbeat(progress);
        },
      });
    },
  );

  const { pointer } = outcome;
  let failures = tally.failures;
  if (!outcome.written) {
    // A retry after the version was published streamed nothing: take the counts from what was published.
    const recount: Tally = { slides: 0, failedSlides: 0, failures: {} };
    for await (const record of readSlideRecords(store, await listSlideRecords(store, input.runId))) {
      countSlide(record, recount);
    }
    tally.slides = recount.slides;
    tally.failedSlides = recount.failedSlides;
    failures = await publishedFailures(store, pointer);
  }
  return {
    exportPrefix,
    version: pointer.version,
    samples: pointer.samples,
    shards: pointer.shards,
    slides: tally.slides,
    failedSlides: tally.failedSlides,
    failures: sortedCounts(failures),
    pointerKey: exportKeys.pointer(exportPrefix),
    urlPattern: shardUrlPattern(store, pointer.shardPattern),
    written: outcome.written,
  };
}

interface SlideEntry {
  key: string;
  slideId: string;
  /** `<sanitised slide id>_`: every sample key of the slide starts with it. */
  keyPrefix: string;
}

/** The run's slide record keys, in the order their samples' keys sort. */
async function listSlideRecords(store: ObjectStore, runId: string): Promise<SlideEntry[]> {
  const root = runKeys.slideRecords(runId);
  const slides: SlideEntry[] = [];
  for await (const object of listAll(store, root)) {
    const name = object.key.slice(root.length);
    if (name.includes('/') || !name.endsWith('.json')) continue;
    const slideId = name.slice(0, -'.json'.length);
    slides.push({ key: object.key, slideId, keyPrefix: sampleKey(slideId, 0, 0).slice(0, -'0_0'.length) });
  }
  return slides.sort((a, b) => compareKeys(a.keyPrefix, b.keyPrefix) || compareKeys(a.slideId, b.slideId));
}

/**
 * Runs of slides whose sample keys may interleave. Keys of slide P all start with "P_"; two
 * slides' key ranges overlap only when one prefix starts with the other, and in sorted order such
 * slides follow the first one directly.
 */
function* keyRangeGroups(slides: readonly SlideEntry[]): Generator<SlideEntry[]> {
  let group: SlideEntry[] = [];
  for (const slide of slides) {
    const first = group[0];
    if (first !== undefined && !slide.keyPrefix.startsWith(first.keyPrefix)) {
      yield group;
      group = [];
    }
    group.push(slide);
  }
  if (group.length > 0) yield group;
}

async function* readSlideRecords(store: ObjectStore, slides: readonly SlideEntry[]): AsyncGenerator<SlideRecord> {
  for (const slide of slides) yield await readSlideRecord(store, slide);
}

async function readSlideRecord(store: ObjectStore, slide: SlideEntry): Promise<SlideRecord> {
  const bytes = await store.get(slide.key);
  let record: SlideRecord;
  try {
    record = JSON.parse(bytes.toString('utf8')) as SlideRecord;
  } catch (error) {
    throw new PathgenError('InvalidInput', `slide record ${slide.key} is not valid JSON: ${(error as Error).message}`, {
      key: slide.key,
    });
  }
  if (record.slideId !== slide.slideId || !Array.isArray(record.samples)) {
    throw new PathgenError('InvalidInput', `${slide.key} is not the slide record of ${slide.slideId}`, {
      key: slide.key,
    });
  }
  return record;
}

function countSlide(record: SlideRecord, tally: Tally): void {
  tally.slides += 1;
  if (record.status === 'failed') {
    tally.failedSlides += 1;
    addFailure(tally, record.reason ?? 'Unknown');
    return;
  }
  for (const sample of record.samples) if (sample.failure !== undefined) addFailure(tally, sample.failure.code);
}

function addFailure(tally: Tally, code: string): void {
  tally.failures[code] = (tally.failures[code] ?? 0) + 1;
}

interface PendingSample {
  key: string;
  record: SlideRecord;
  ref: SampleRef & { recordKey: string };
}

/** Every captioned sample of the run in key order, its record and image read a few samples ahead. */
async function* runSamples(
  store: ObjectStore,
  runId: string,
  slides: readonly SlideEntry[],
  tally: Tally,
  signal: AbortSignal,
): AsyncGenerator<ExportSample> {
  const pending = pendingSamples(store, slides, tally, signal);
  for await (const sample of readAhead(pending, readAheadSamples, (item) => loadSample(store, runId, item, tally))) {
    if (sample !== undefined) yield sample;
  }
}

async function* pendingSamples(
  store: ObjectStore,
  slides: readonly SlideEntry[],
  tally: Tally,
  signal: AbortSignal,
): AsyncGenerator<PendingSample> {
  for (const group of keyRangeGroups(slides)) {
    const items: PendingSample[] = [];
    for await (const record of readSlideRecords(store, group)) {
      signal.throwIfAborted();
      countSlide(record, tally);
      if (record.status !== 'completed') continue;
      for (const ref of record.samples) {
        if (ref.failure !== undefined) continue;
        if (ref.recordKey === undefined) {
          addFailure(tally, exportSampleFailures.recordMissing);
          continue;
        }
        items.push({ key: sampleKey(record.slideId, ref.x, ref.y), record, ref: { ...ref, recordKey: ref.recordKey } });
      }
    }
    items.sort((a, b) => compareKeys(a.key, b.key));
    yield* items;
  }
}

// Names the sample and the slide record already fix; a caption record cannot override them.
const sampleFields = new Set(['caption', 'ok', 'key', 'slideId', 'project', 'x', 'y', 'level', 'mpp']);

/** The sample with its caption and JPEG, or undefined (counted as a failure) when a piece is missing. */
async function loadSample(
  store: ObjectStore,
  runId: string,
  { key, record, ref }: PendingSample,
  tally: Tally,
): Promise<ExportSample | undefined> {
  const recordBytes = await getIfPresent(store, ref.recordKey);
  if (recordBytes === undefined) {
    addFailure(tally, exportSampleFailures.recordMissing);
    return undefined;
  }
  const captionRecord = parseObject(recordBytes);
  const caption = captionRecord?.caption;
  if (captionRecord === undefined || typeof caption !== 'string' || caption.trim() === '') {
    addFailure(tally, exportSampleFailures.captionMissing);
    return undefined;
  }
  const jpeg = await getIfPresent(store, ref.jpegKey);
  if (jpeg === undefined) {
    addFailure(tally, exportSampleFailures.imageMissing);
    return undefined;
  }
  const metadata: Record<string, unknown> = {
    slide: record.slide,
    size: ref.size,
    wsiId: record.wsiId ?? record.slideId,
    ...(record.fileId !== undefined ? { fileId: record.fileId } : {}),
    runId,
  };
  for (const [name, value] of Object.entries(captionRecord)) {
    if (!sampleFields.has(name) && !(name in metadata)) metadata[name] = value;
  }
  return {
    key,
    slideId: record.slideId,
    ...(record.project !== undefined ? { project: record.project } : {}),
    x: ref.x,
    y: ref.y,
    level: ref.level,
    ...(ref.mpp !== undefined ? { mpp: ref.mpp } : {}),
    caption,
    jpeg: () => Promise.resolve(jpeg),
    metadata,
  };
}

async function getIfPresent(store: ObjectStore, key: string): Promise<Buffer | undefined> {
  try {
    return await store.get(key);
  } catch (error) {
    if (isStoreError(error, 'NotFound')) return undefined;
    throw error;
  }
}

function parseObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Maps items in order with up to `window` loads in flight, so store round trips overlap. */
async function* readAhead<T, R>(
  source: AsyncIterable<T>,
  window: number,
  load: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const iterator = source[Symbol.asyncIterator]();
  const pending: Promise<R>[] = [];
  let exhausted = false;
  const fill = async () => {
    while (!exhausted && pending.length < window) {
      const next = await iterator.next();
      if (next.done === true) {
        exhausted = true;
        return;
      }
      const promise = load(next.value);
      promise.catch(() => undefined); // awaited in order below; this only keeps it from counting as unhandled
      pending.push(promise);
    }
  };
  try {
    await fill();
    for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
      const value = await next;
      await fill();
      yield value;
    }
  } finally {
    await Promise.allSettled(pending);
    await iterator.return?.();
  }
}

async function publishedFailures(store: ObjectStore, pointer: ExportPointer): Promise<Record<string, number>> {
  const card = JSON.parse((await store.get(pointer.files.cardJson)).toString('utf8')) as DatasetCardJson;
  return Object.fromEntries(card.failures.map(({ reason, count }) => [reason, count]));
}

function sortedCounts(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => compareKeys(a, b)));
}

function shardUrlPattern(store: ObjectStore, shardPattern: string | null): string | null {
  if (shardPattern === null) return null;
  const slash = shardPattern.lastIndexOf('/');
  const local = store.localFile?.(shardPattern.slice(0, slash));
  if (local !== undefined) return path.join(local, shardPattern.slice(slash + 1));
  return `${store.description.replace(/\/*$/, '/')}${shardPattern}`;
}
