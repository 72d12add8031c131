import { PathgenError } from '../common/errors.js';
import { runKeys } from '../contracts/keys.js';
import type { SampleRef, SlideRecord } from '../contracts/slide-record.js';
import { getIfExists, listAll } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import type { ExportSample } from './export-dataset.js';
import { compareKeys, sampleKey, slideKeyPrefix } from './sample-key.js';

// A run's samples for the export, read from its slide records (the slide workflow's last word on
// each slide, see contracts/slide-record.ts). Samples must reach exportDataset in key order without
// the run's sample list in memory: slides are visited in the order of their keys' prefix
// (`<slide>_`), and only slides whose prefixes nest (slide "a" and slide "a_1" share keys' ranges)
// are merged before sorting, so memory holds one slide's samples at a time (plus one small entry
// per slide for the listing).
//
// The tally of slides and failures is kept in key order too: a slide counts at its key prefix,
// a sample whose pieces are missing at its key. So while the export holds sample k, the tally
// counts exactly what lies at or before k — what a checkpoint taken then must carry — and an
// export resumed after k counts only what lies after it, without reading the slides and samples
// before it.

export interface RunTally {
  slides: number;
  failedSlides: number;
  /** Failed slides by reason and failed samples by code. */
  failures: Record<string, number>;
}

/** Failure codes of samples the slide record lists as captioned but whose pieces are not in the store. */
export const exportSampleFailures = {
  recordMissing: 'CaptionRecordMissing',
  captionMissing: 'CaptionMissing',
  imageMissing: 'PatchImageMissing',
} as const;

export interface SlideEntry {
  slideId: string;
  /** `<sanitised slide id>_`: every sample key of the slide starts with it. */
  keyPrefix: string;
}

/** The run's slides, in the order their samples' keys sort. */
export async function listSlideRecords(store: ObjectStore, runId: string): Promise<SlideEntry[]> {
  const root = runKeys.slideRecords(runId);
  const slides: SlideEntry[] = [];
  for await (const object of listAll(store, root)) {
    const name = object.key.slice(root.length);
    if (name.includes('/') || !name.endsWith('.json')) continue;
    // A copy, not a slice: V8 keeps a sliced string's whole parent (the listed key) alive.
    const slideId = Buffer.from(name.slice(0, -'.json'.length), 'utf8').toString('utf8');
    slides.push({ slideId, keyPrefix: slideKeyPrefix(slideId) });
  }
  return slides.sort((a, b) => compareKeys(a.keyPrefix, b.keyPrefix) || compareKeys(a.slideId, b.slideId));
}

export async function* readSlideRecords(
  store: ObjectStore,
  runId: string,
  slides: readonly SlideEntry[],
): AsyncGenerator<SlideRecord> {
  for (const slide of slides) yield await readSlideRecord(store, runId, slide);
}

async function readSlideRecord(store: ObjectStore, runId: string, slide: SlideEntry): Promise<SlideRecord> {
  const key = runKeys.slideRecord(runId, slide.slideId);
  const bytes = await store.get(key);
  let record: SlideRecord;
  try {
    record = JSON.parse(bytes.toString('utf8')) as SlideRecord;
  } catch (error) {
    throw new PathgenError('InvalidInput', `slide record ${key} is not valid JSON: ${(error as Error).message}`, {
      key,
    });
  }
  if (record.slideId !== slide.slideId || !Array.isArray(record.samples)) {
    throw new PathgenError('InvalidInput', `${key} is not the slide record of ${slide.slideId}`, { key });
  }
  return record;
}

/** What a slide record says of the slide and its failed samples. */
export function countSlide(record: SlideRecord, tally: RunTally): void {
  tally.slides += 1;
  if (record.status === 'failed') {
    tally.failedSlides += 1;
    addFailure(tally, record.reason ?? 'Unknown');
    return;
  }
  for (const sample of record.samples) if (sample.failure !== undefined) addFailure(tally, sample.failure.code);
  if (record.status !== 'completed') return;
  for (const sample of record.samples) {
    if (sample.failure === undefined && sample.recordKey === undefined) {
      addFailure(tally, exportSampleFailures.recordMissing);
    }
  }
}

function addFailure(tally: RunTally, code: string): void {
  tally.failures[code] = (tally.failures[code] ?? 0) + 1;
}

/** One step of the run in key order: a slide (its record's counts) or one of its samples. */
type RunItem =
  | { kind: 'slide'; key: string; record: SlideRecord }
  | { kind: 'sample'; key: string; record: SlideRecord; ref: SampleRef & { recordKey: string } };

type Loaded =
  { kind: 'slide'; record: SlideRecord } | { kind: 'sample'; sample: ExportSample } | { kind: 'failed'; code: string };

const readAheadSamples = 16;

/**
 * Every captioned sample of the run whose key sorts after `after` (all of them without it), in
 * key order, its record and image read a few samples ahead; `tally` counts as they pass.
 */
export async function* runSamples(
  store: ObjectStore,
  runId: string,
  slides: readonly SlideEntry[],
  tally: RunTally,
  signal: AbortSignal,
  after?: string,
): AsyncGenerator<ExportSample> {
  const items = runItems(store, runId, slides, signal, after);
  const load = (item: RunItem): Promise<Loaded> =>
    item.kind === 'slide' ? Promise.resolve(item) : loadSample(store, runId, item);
  for await (const loaded of readAhead(items, readAheadSamples, load)) {
    if (loaded.kind === 'slide') countSlide(loaded.record, tally);
    else if (loaded.kind === 'failed') addFailure(tally, loaded.code);
    else yield loaded.sample;
  }
}

async function* runItems(
  store: ObjectStore,
  runId: string,
  slides: readonly SlideEntry[],
  signal: AbortSignal,
  after: string | undefined,
): AsyncGenerator<RunItem> {
  const groups = keyRangeGroups(slides);
  let group = groups.next();
  while (group.done !== true) {
    const next = groups.next();
    // Every key of a group sorts before the next group's prefix: a group wholly at or before
    // `after` was exported (and counted) by the attempt that got there, and is not even read.
    const passed = after !== undefined && next.done !== true && compareKeys(next.value[0]?.keyPrefix ?? '', after) <= 0;
    if (!passed) yield* groupItems(store, runId, group.value, signal, after);
    group = next;
  }
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

async function* groupItems(
  store: ObjectStore,
  runId: string,
  group: readonly SlideEntry[],
  signal: AbortSignal,
  after: string | undefined,
): AsyncGenerator<RunItem> {
  const items: RunItem[] = [];
  for (const slide of group) {
    signal.throwIfAborted();
    const record = await readSlideRecord(store, runId, slide);
    items.push({ kind: 'slide', key: slide.keyPrefix, record });
    if (record.status !== 'completed') continue;
    for (const ref of record.samples) {
      if (ref.failure !== undefined || ref.recordKey === undefined) continue;
      const key = sampleKey(record.slideId, ref.x, ref.y);
      items.push({ kind: 'sample', key, record, ref: { ...ref, recordKey: ref.recordKey } });
    }
  }
  // Stable: a slide's own item stays before its samples (its prefix sorts before their keys anyway).
  items.sort((a, b) => compareKeys(a.key, b.key));
  for (const item of items) if (after === undefined || compareKeys(item.key, after) > 0) yield item;
}

// Names the sample and the slide record already fix; a caption record cannot override them.
const sampleFields = new Set(['caption', 'ok', 'key', 'slideId', 'project', 'x', 'y', 'level', 'mpp']);

/** The sample with its caption and JPEG, or the failure code when a piece is missing. */
async function loadSample(
  store: ObjectStore,
  runId: string,
  { key, record, ref }: Extract<RunItem, { kind: 'sample' }>,
): Promise<Loaded> {
  const recordBytes = await getIfExists(store, ref.recordKey);
  if (recordBytes === undefined) return { kind: 'failed', code: exportSampleFailures.recordMissing };
  const captionRecord = parseObject(recordBytes);
  const caption = captionRecord?.caption;
  if (captionRecord === undefined || typeof caption !== 'string' || caption.trim() === '') {
    return { kind: 'failed', code: exportSampleFailures.captionMissing };
  }
  const jpeg = await getIfExists(store, ref.jpegKey);
  if (jpeg === undefined) return { kind: 'failed', code: exportSampleFailures.imageMissing };
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
  const sample: ExportSample = {
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
  return { kind: 'sample', sample };
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
