import { Context } from '@temporalio/activity';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { withTypedFailures } from '../runtime/activity-failure.js';
import { zeroUsage } from '../agents/index.js';
import { PathgenError } from '../common/errors.js';
import { forEachBounded } from '../export/index.js';
import { whileHeartbeating } from '../runtime/heartbeat.js';
import {
  groupPathgenRecords,
  readMaterializePatches,
  readMaterializeSlidesPage,
  readSlideLookup,
  slideIdPattern,
} from '../manifest/index.js';
import type {
  FileManifestSource,
  ManifestCursor,
  ManifestFieldError,
  MaterializeErrorReason,
  MaterializePatch,
  MaterializeRecordError,
} from '../manifest/index.js';
import { slideRecordKey } from '../contracts/slide-record.js';
import type { SampleRef, SlideRecord } from '../contracts/slide-record.js';
import type { MaterializeSlideRef } from '../contracts/slide-job.js';
import { localSlidePath } from '../staging/local-slide.js';
import { listAll } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { isStoreError } from '../store/store-errors.js';
import { openSlide } from '../wsi/open-slide.js';
import type { PatchCandidate } from '../wsi/patch-grid.js';
import { readPatches } from '../wsi/patch-reading.js';

// Materialize mode: a released PathGen-1.6M JSON (or any file in its format) and a wsi_id → slide
// lookup become a run's slide records, with the 672×672 level-0 crops cut from the lab's own
// slides and the released captions beside them, so the ordinary export rebuilds the dataset. No
// selection, no agents. Layout under `runs/<runId>/materialize/`: the grouping (slides.jsonl,
// patches/<slideId>/part-*.jsonl, errors.jsonl, grouping.json written last), the crops
// patches/<slideId>/<x>_<y>.jpg and the caption records records/<slideId>/<x>_<y>.json.

export interface MaterializeDeps {
  store: ObjectStore;
  slideCacheDir: string;
  slideCacheMaxBytes: number;
}

export interface GroupMaterializeInput {
  runId: string;
  /** The PathGen-format JSON: a path on this machine when such a file exists, else a store key. */
  pathgenJson: string;
  /** The wsi_id → slide lookup (.csv or .jsonl): a local path when it exists, else a store key. */
  lookup: string;
}

export interface GroupMaterializeResult {
  runId: string;
  pathgenJson: string;
  lookup: string;
  slidesKey: string;
  errorsKey: string;
  records: number;
  groupedRecords: number;
  slides: number;
  errorCounts: Record<MaterializeErrorReason, number>;
  /** The first few record errors; all of them are in `errorsKey`. */
  errors: MaterializeRecordError[];
  /** Lookup entries read, and its bad lines (their wsi_ids then count as UnknownWsiId). */
  lookupSlides: number;
  lookupErrors: number;
  firstLookupErrors: Array<{ line: number; errors: ManifestFieldError[] }>;
  /** True when an earlier attempt had finished the grouping. */
  reused: boolean;
}

export interface ReadMaterializeSlidesInput {
  runId: string;
  cursor?: ManifestCursor;
  limit: number;
}

export interface MaterializeSlidesPage {
  slides: MaterializeSlideRef[];
  /** Absent after the last page. */
  next?: ManifestCursor;
}

export interface MaterializeSlideInput {
  runId: string;
  slideId: string;
  slide: string;
  wsiId: string;
  /** GDC file id; default: the first one the slide's records give. */
  fileId?: string;
  project?: string;
  /** Side of the level-0 crop (PathGen: 672). */
  patchSize?: number;
}

export interface MaterializeSlideResult {
  slideId: string;
  recordKey: string;
  status: 'completed';
  /** positions (distinct), written (crops with records, reused included), failed, reused, duplicates. */
  counts: Record<string, number>;
  failures: Record<string, number>;
  /** True when the slide record existed already and nothing was read. */
  reused: boolean;
}

export type MaterializeHeartbeat =
  | { phase: 'grouping'; records: number }
  | { phase: 'staging'; bytes: number; total: number }
  | { phase: 'opening' }
  /** Every position before `next` (in source order) is done. */
  | { phase: 'patches'; next: number; total: number; written: number };

export const positionOutsideSlide = 'PositionOutsideSlide';
export const duplicatePosition = 'DuplicatePosition';
const jpegQuality = 95;
const maxPageBytes = 200_000;
const firstErrors = 10;

export function materializePrefix(runId: string): string {
  return `runs/${runId}/materialize`;
}

export function createMaterializeActivities(deps: MaterializeDeps) {
  return {
    /** Sorts a PathGen-format JSON into per-slide groups (once per run). */
    groupMaterializeInput: (input: GroupMaterializeInput) =>
      withTypedFailures(() => groupMaterializeInput(deps, input)),
    /** A page of the grouped slides, small enough for a workflow payload. */
    readMaterializeSlides: (input: ReadMaterializeSlidesInput) =>
      withTypedFailures(() => readMaterializeSlides(deps, input)),
    /** Crops one slide's listed positions and writes its caption records and slide record. */
    materializeSlide: (input: MaterializeSlideInput) => withTypedFailures(() => materializeSlide(deps, input)),
  };
}

export type MaterializeActivities = ReturnType<typeof createMaterializeActivities>;

async function groupMaterializeInput(
  deps: MaterializeDeps,
  input: GroupMaterializeInput,
): Promise<GroupMaterializeResult> {
  checkRunId(input.runId);
  const { store } = deps;
  const prefix = materializePrefix(input.runId);
  const doneKey = `${prefix}/grouping.json`;
  if (await store.exists(doneKey)) {
    const done = JSON.parse((await store.get(doneKey)).toString('utf8')) as GroupMaterializeResult;
    if (done.pathgenJson !== input.pathgenJson || done.lookup !== input.lookup) {
      throw new PathgenError(
        'InvalidInput',
        `run ${input.runId} was materialized from ${done.pathgenJson} and ${done.lookup}; use a new run id for other inputs`,
        { runId: input.runId },
      );
    }
    return { ...done, reused: true };
  }

  const context = Context.current();
  let progress: MaterializeHeartbeat = { phase: 'grouping', records: 0 };
  const lookup = await readSlideLookup(await fileSource(input.lookup), { store });
  const grouping = await whileHeartbeating(
    () => progress,
    async () =>
      groupPathgenRecords({
        store,
        source: await fileSource(input.pathgenJson),
        lookup,
        outputPrefix: prefix,
        maxErrorsReturned: firstErrors,
        signal: context.cancellationSignal,
        onProgress: ({ records }) => {
          progress = { phase: 'grouping', records };
        },
      }),
  );
  const result: GroupMaterializeResult = {
    runId: input.runId,
    pathgenJson: input.pathgenJson,
    lookup: input.lookup,
    ...grouping,
    lookupSlides: lookup.slides.size,
    lookupErrors: lookup.errors.length,
    firstLookupErrors: lookup.errors.slice(0, firstErrors),
    reused: false,
  };
  await store.put(doneKey, Buffer.from(`${JSON.stringify(result, null, 2)}\n`), { contentType: 'application/json' });
  return result;
}

/** A local file when one exists at that path, else a store key. */
async function fileSource(reference: string): Promise<FileManifestSource> {
  const info = await stat(reference).catch(() => undefined);
  return info?.isFile() === true ? { kind: 'file', path: reference } : { kind: 'store', key: reference };
}

async function readMaterializeSlides(
  deps: MaterializeDeps,
  input: ReadMaterializeSlidesInput,
): Promise<MaterializeSlidesPage> {
  checkRunId(input.runId);
  if (!Number.isSafeInteger(input.limit) || input.limit < 1) {
    throw new PathgenError('InvalidInput', `limit must be a positive integer, got ${input.limit}`);
  }
  const prefix = materializePrefix(input.runId);
  if (!(await deps.store.exists(`${prefix}/grouping.json`))) {
    throw new PathgenError(
      'InvalidInput',
      `run ${input.runId} has no materialize grouping: run groupMaterializeInput first`,
      {
        runId: input.runId,
      },
    );
  }
  // Slide references are usually short; a page of long ones is cut until it fits a workflow payload.
  for (let limit = input.limit; ; limit = Math.ceil(limit / 2)) {
    const page = await readMaterializeSlidesPage(deps.store, `${prefix}/slides.jsonl`, {
      ...(input.cursor !== undefined ? { cursor: input.cursor } : {}),
      limit,
    });
    const result: MaterializeSlidesPage = {
      slides: page.slides.map((slide) => ({
        slideId: slide.slideId,
        slide: slide.slide,
        wsiId: slide.wsiId,
        ...(slide.project !== undefined ? { project: slide.project } : {}),
        patches: slide.records,
      })),
      ...(page.next !== undefined ? { next: page.next } : {}),
    };
    if (limit === 1 || Buffer.byteLength(JSON.stringify(result)) <= maxPageBytes) return result;
  }
}

async function materializeSlide(deps: MaterializeDeps, input: MaterializeSlideInput): Promise<MaterializeSlideResult> {
  checkRunId(input.runId);
  checkSlideId(input.slideId);
  const patchSize = input.patchSize ?? 672;
  if (!Number.isSafeInteger(patchSize) || patchSize < 1) {
    throw new PathgenError('InvalidInput', `patchSize must be a positive integer, got ${patchSize}`);
  }
  const { store } = deps;
  const startedAt = new Date().toISOString();
  const recordKey = slideRecordKey(input.runId, input.slideId);
  const existing = await readCompletedRecord(store, recordKey);
  if (existing !== undefined) {
    return {
      slideId: input.slideId,
      recordKey,
      status: 'completed',
      counts: existing.counts,
      failures: existing.failures,
      reused: true,
    };
  }

  const prefix = materializePrefix(input.runId);
  const keys = { patches: `${prefix}/patches/${input.slideId}/`, records: `${prefix}/records/${input.slideId}/` };
  const { patches, duplicates } = await slidePatches(store, prefix, input);
  const context = Context.current();
  const signal = context.cancellationSignal;
  const localPath = await localSlidePath(deps, input.slide, signal, (bytes, total) =>
    context.heartbeat({ phase: 'staging', bytes, total } satisfies MaterializeHeartbeat),
  );
  const reader = await whileHeartbeating(
    () => ({ phase: 'opening' }) satisfies MaterializeHeartbeat,
    () => openSlide(localPath, { conversionCacheDir: path.join(deps.slideCacheDir, 'converted'), signal }),
  );

  const samples: SampleRef[] = [];
  const failures: Record<string, number> = {};
  let reused = 0;
  let written = 0;
  try {
    const level0 = reader.levels[0] as { width: number; height: number };
    const mpp = reader.mpp === null ? undefined : (reader.mpp.x + reader.mpp.y) / 2;
    const last = context.info.heartbeatDetails as MaterializeHeartbeat | undefined;
    const resumeFrom = last?.phase === 'patches' && last.total === patches.length ? last.next : 0;

    const toCheck: Array<{ index: number; sample: SampleRef & { recordKey: string } }> = [];
    for (const [index, patch] of patches.entries()) {
      const id = `${patch.x}_${patch.y}`;
      const base = { id, x: patch.x, y: patch.y, level: 0, size: patchSize, ...(mpp !== undefined ? { mpp } : {}) };
      const jpegKey = `${keys.patches}${id}.jpg`;
      if (patch.x + patchSize > level0.width || patch.y + patchSize > level0.height) {
        const reason =
          `a ${patchSize}×${patchSize} crop at ${patch.x},${patch.y} does not fit in the slide's level 0 ` +
          `(${level0.width}×${level0.height})`;
        samples.push({ ...base, jpegKey, failure: { agent: 'materialize', code: positionOutsideSlide, reason } });
        failures[positionOutsideSlide] = (failures[positionOutsideSlide] ?? 0) + 1;
        continue;
      }
      const sample = { ...base, jpegKey, recordKey: `${keys.records}${id}.json` };
      samples.push(sample);
      if (index < resumeFrom) reused += 1;
      else toCheck.push({ index, sample });
    }

    // Positions an earlier attempt finished after its last recorded heartbeat are found in the store.
    const done = new Set<number>();
    await forEachBounded(toCheck, 16, async ({ index, sample }) => {
      if ((await store.exists(sample.jpegKey)) && (await store.exists(sample.recordKey))) done.add(index);
    });
    reused += done.size;
    const todo = toCheck.filter(({ index }) => !done.has(index));
    const candidates: PatchCandidate[] = todo.map(({ sample }) => ({
      x: sample.x,
      y: sample.y,
      level: 0,
      width: patchSize,
      height: patchSize,
      tissue: 1,
    }));
    written = reused;
    const heartbeat = (next: number) =>
      context.heartbeat({ phase: 'patches', next, total: patches.length, written } satisfies MaterializeHeartbeat);
    heartbeat(todo[0]?.index ?? patches.length);
    for await (const { index, image } of readPatches(reader, candidates, { signal })) {
      const { index: position, sample } = todo[index] as (typeof todo)[number];
      const jpeg = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
        .jpeg({ quality: jpegQuality, chromaSubsampling: '4:4:4' })
        .toBuffer();
      await store.put(sample.jpegKey, jpeg, { contentType: 'image/jpeg' });
      const caption = (patches[position] as MaterializePatch).caption;
      await store.put(sample.recordKey, Buffer.from(`${JSON.stringify({ caption, source: 'pathgen-json' })}\n`), {
        contentType: 'application/json',
      });
      written += 1;
      heartbeat(position + 1);
    }
  } finally {
    await reader.close();
  }

  if (duplicates.length > 0) failures[duplicatePosition] = duplicates.length;
  const counts = {
    positions: patches.length,
    written,
    failed: failures[positionOutsideSlide] ?? 0,
    reused,
    duplicates: duplicates.length,
  };
  const fileId = input.fileId ?? patches.find((patch) => patch.fileId !== '')?.fileId;
  const record: SlideRecord = {
    runId: input.runId,
    slideId: input.slideId,
    slide: input.slide,
    ...(input.project !== undefined ? { project: input.project } : {}),
    ...(fileId !== undefined ? { fileId } : {}),
    wsiId: input.wsiId,
    status: 'completed',
    counts,
    failures,
    usage: zeroUsage,
    samples,
    prefixes: { materialize: `${prefix}/`, ...keys },
    startedAt,
    finishedAt: new Date().toISOString(),
  };
  await store.put(recordKey, Buffer.from(`${JSON.stringify(record)}\n`), { contentType: 'application/json' });
  return { slideId: input.slideId, recordKey, status: 'completed', counts, failures, reused: false };
}

/** The slide's positions in source order (repeats set apart), from the parts the grouping wrote. */
async function slidePatches(
  store: ObjectStore,
  prefix: string,
  input: MaterializeSlideInput,
): Promise<Awaited<ReturnType<typeof readMaterializePatches>>> {
  const parts: string[] = [];
  for await (const object of listAll(store, `${prefix}/patches/${input.slideId}/part-`)) parts.push(object.key);
  if (parts.length === 0) {
    throw new PathgenError(
      'InvalidInput',
      `run ${input.runId} lists no positions for slide ${input.slideId}: run groupMaterializeInput first`,
      { runId: input.runId, slideId: input.slideId },
    );
  }
  return await readMaterializePatches(store, { parts });
}

async function readCompletedRecord(store: ObjectStore, key: string): Promise<SlideRecord | undefined> {
  let bytes: Buffer;
  try {
    bytes = await store.get(key);
  } catch (error) {
    if (isStoreError(error, 'NotFound')) return undefined;
    throw error;
  }
  const record = JSON.parse(bytes.toString('utf8')) as SlideRecord;
  return record.status === 'completed' ? record : undefined;
}

function checkRunId(runId: string): void {
  if (!slideIdPattern.test(runId)) {
    throw new PathgenError(
      'InvalidInput',
      `run id ${JSON.stringify(runId)} must be 1–200 letters, digits, '.', '_' or '-'`,
      {
        runId,
      },
    );
  }
}

function checkSlideId(slideId: string): void {
  if (!slideIdPattern.test(slideId)) {
    throw new PathgenError(
      'InvalidInput',
      `slide id ${JSON.stringify(slideId)} must be 1–200 letters, digits, '.', '_' or '-'`,
      {
        slideId,
      },
    );
  }
}
