import { PathgenError } from '../common/errors.js';
import { materializeKeys } from '../contracts/keys.js';
import { forEachBounded, StoreUpload } from '../export/store-upload.js';
import type { ObjectStore } from '../store/object-store.js';
import type { TcgaProjectCode } from '../tcga/tcga-projects.js';
import { readJsonArray } from './json-array-reader.js';
import type { ManifestFieldError } from './manifest-row.js';
import { openSourceBytes } from './manifest-source.js';
import type { FileManifestSource } from './manifest-source.js';
import { slideIdForWsi, validatePathgenRecord } from './pathgen-records.js';
import type { ManifestCursor } from './read-manifest.js';
import type { LookupSlide, SlideLookup } from './slide-lookup.js';
import { readTextLines } from './text-lines.js';

// Materialize mode's first step: one streaming pass over a PathGen-format JSON that sorts its
// records into per-slide groups in the store, so each slide workflow later reads just its own
// positions and captions. Records are buffered up to a bound and then flushed as one "part" object
// per slide, so memory does not grow with the file (1.6 M records) and the source need not be
// sorted by slide. Bad records and records whose wsi_id the lookup lacks are counted, listed in an
// errors object, and skipped: they are outcomes, not crashes.
//
// Layout under `outputPrefix`:
//   slides.jsonl                              one MaterializeSlide per line, sorted by slide id
//   patches/<slideId>/part-000000.jsonl       one MaterializePatch per line
//   errors.jsonl                              one MaterializeRecordError per line

export type MaterializeErrorReason = 'InvalidJson' | 'InvalidRecord' | 'UnknownWsiId';

export interface MaterializeRecordError {
  /** 0-based position of the record in the source array. */
  index: number;
  byteOffset: number;
  reason: MaterializeErrorReason;
  wsiId?: string;
  errors: ManifestFieldError[];
}

export interface MaterializeSlide {
  wsiId: string;
  slideId: string;
  slide: string;
  project?: TcgaProjectCode;
  records: number;
  parts: string[];
}

export interface MaterializePatch {
  /** 0-based position of the record in the source array. */
  index: number;
  x: number;
  y: number;
  caption: string;
  fileId: string;
}

export interface MaterializeGrouping {
  records: number;
  groupedRecords: number;
  slides: number;
  errorCounts: Record<MaterializeErrorReason, number>;
  /** The first `maxErrorsReturned` errors; all of them are in `errorsKey`. */
  errors: MaterializeRecordError[];
  slidesKey: string;
  errorsKey: string;
}

export interface MaterializeGroupOptions {
  store: ObjectStore;
  /** Where the PathGen-format JSON array is (its `format` is ignored). */
  source: FileManifestSource;
  lookup: SlideLookup | ReadonlyMap<string, LookupSlide>;
  outputPrefix: string;
  /** Records held before they are flushed to per-slide parts (~0.5 KB each). */
  maxBufferedRecords?: number;
  maxErrorsReturned?: number;
  signal?: AbortSignal;
  onProgress?: (progress: { records: number; byteOffset: number }) => void;
}

const partConcurrency = 8;

export async function groupPathgenRecords(options: MaterializeGroupOptions): Promise<MaterializeGrouping> {
  const { store, outputPrefix } = options;
  const lookup = 'slides' in options.lookup ? options.lookup.slides : options.lookup;
  const maxBuffered = options.maxBufferedRecords ?? 100_000;
  const maxErrors = options.maxErrorsReturned ?? 100;
  const prefix = outputPrefix.replace(/\/+$/, '');
  const slides = new Map<string, MaterializeSlide>();
  let buffered = new Map<string, MaterializePatch[]>();
  let bufferedCount = 0;
  const result: MaterializeGrouping = {
    records: 0,
    groupedRecords: 0,
    slides: 0,
    errorCounts: { InvalidJson: 0, InvalidRecord: 0, UnknownWsiId: 0 },
    errors: [],
    slidesKey: materializeKeys.slides(prefix),
    errorsKey: materializeKeys.errors(prefix),
  };

  const flush = async () => {
    const groups = [...buffered];
    buffered = new Map();
    bufferedCount = 0;
    await forEachBounded(groups, partConcurrency, async ([wsiId, patches]) => {
      const slide = slides.get(wsiId) as MaterializeSlide;
      const key = materializeKeys.groupedPatchesPart(prefix, slide.slideId, slide.parts.length);
      slide.parts.push(key);
      await store.put(key, Buffer.from(patches.map((patch) => JSON.stringify(patch)).join('\n') + '\n'));
    });
  };

  const errorsUpload = new StoreUpload(store, result.errorsKey, 'application/x-ndjson');
  const recordError = async (error: MaterializeRecordError) => {
    result.errorCounts[error.reason] += 1;
    if (result.errors.length < maxErrors) result.errors.push(error);
    await errorsUpload.write(`${JSON.stringify(error)}\n`);
  };

  const stream = await openSourceBytes(options.source, store);
  try {
    for await (const item of readJsonArray(stream)) {
      options.signal?.throwIfAborted();
      result.records += 1;
      if (result.records % 10_000 === 0) options.onProgress?.({ records: result.records, byteOffset: item.byteOffset });
      const at = { index: item.index, byteOffset: item.byteOffset };
      if ('error' in item) {
        await recordError({ ...at, reason: 'InvalidJson', errors: [{ field: '(record)', message: item.error }] });
        continue;
      }
      const checked = validatePathgenRecord(item.value);
      if ('errors' in checked) {
        await recordError({ ...at, reason: 'InvalidRecord', errors: checked.errors });
        continue;
      }
      const { wsiId, x, y, caption, fileId } = checked.record;
      const target = lookup.get(wsiId);
      if (target === undefined) {
        await recordError({
          ...at,
          reason: 'UnknownWsiId',
          wsiId,
          errors: [{ field: 'wsi_id', message: `${wsiId} is not in the slide lookup` }],
        });
        continue;
      }
      let slide = slides.get(wsiId);
      if (slide === undefined) {
        slide = { wsiId, slideId: slideIdForWsi(wsiId), slide: target.slide, records: 0, parts: [] };
        if (target.project !== undefined) slide.project = target.project;
        slides.set(wsiId, slide);
      }
      slide.records += 1;
      result.groupedRecords += 1;
      const group = buffered.get(wsiId);
      const patch = { index: item.index, x, y, caption, fileId };
      if (group === undefined) buffered.set(wsiId, [patch]);
      else group.push(patch);
      bufferedCount += 1;
      if (bufferedCount >= maxBuffered) await flush();
    }
    await flush();
    await errorsUpload.end();
  } catch (error) {
    await errorsUpload.abort(error instanceof Error ? error : new Error(String(error)));
    throw error;
  } finally {
    stream.destroy();
  }

  const ordered = [...slides.values()].sort((a, b) => compare(a.slideId, b.slideId));
  assertDistinctSlideIds(ordered);
  await store.put(result.slidesKey, Buffer.from(ordered.map((slide) => JSON.stringify(slide)).join('\n') + '\n'));
  result.slides = ordered.length;
  return result;
}

/** One slide's patches in source order, and the ones whose position repeats an earlier one. */
export async function readMaterializePatches(
  store: ObjectStore,
  slide: Pick<MaterializeSlide, 'parts'>,
): Promise<{ patches: MaterializePatch[]; duplicates: Array<MaterializePatch & { firstIndex: number }> }> {
  const all: MaterializePatch[] = [];
  for (const key of slide.parts) {
    const text = (await store.get(key)).toString('utf8');
    for (const line of text.split('\n')) if (line !== '') all.push(JSON.parse(line) as MaterializePatch);
  }
  all.sort((a, b) => a.index - b.index);
  const first = new Map<string, number>();
  const patches: MaterializePatch[] = [];
  const duplicates: Array<MaterializePatch & { firstIndex: number }> = [];
  for (const patch of all) {
    const position = `${patch.x},${patch.y}`;
    const firstIndex = first.get(position);
    if (firstIndex === undefined) {
      first.set(position, patch.index);
      patches.push(patch);
    } else duplicates.push({ ...patch, firstIndex });
  }
  return { patches, duplicates };
}

/**
 * A page of `slides.jsonl`, resuming at a byte cursor (the same cursor shape as manifest pages), so
 * a run over thousands of slides never holds or passes the whole list.
 */
export async function readMaterializeSlidesPage(
  store: ObjectStore,
  slidesKey: string,
  options: { cursor?: ManifestCursor; limit: number },
): Promise<{ slides: MaterializeSlide[]; next?: ManifestCursor }> {
  const start = options.cursor ?? { index: 0, line: 1, byteOffset: 0 };
  const startByte = start.byteOffset ?? 0;
  const stream = await openSourceBytes({ kind: 'store', key: slidesKey }, store, startByte);
  const slides: MaterializeSlide[] = [];
  let next: ManifestCursor = start;
  try {
    for await (const { line, text, endByte } of readTextLines(stream, { startByte, startLine: start.line })) {
      if (text === undefined || text === '') continue;
      if (slides.length === options.limit) return { slides, next };
      slides.push(JSON.parse(text) as MaterializeSlide);
      next = { index: next.index + 1, line: line + 1, byteOffset: endByte };
    }
    return { slides };
  } finally {
    stream.destroy();
  }
}

function assertDistinctSlideIds(slides: readonly MaterializeSlide[]): void {
  for (let i = 1; i < slides.length; i++) {
    const previous = slides[i - 1] as MaterializeSlide;
    const current = slides[i] as MaterializeSlide;
    if (previous.slideId === current.slideId) {
      throw new PathgenError(
        'InvalidInput',
        `wsi_ids ${previous.wsiId} and ${current.wsiId} map to the same slide id ${current.slideId}`,
        { slideId: current.slideId },
      );
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
