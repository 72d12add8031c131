import { Context } from '@temporalio/activity';
import { stat } from 'node:fs/promises';
import { withTypedFailures } from '../runtime/activity-failure.js';
import { zeroUsage } from '../agents/index.js';
import { PathgenError } from '../common/errors.js';
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
  MaterializeRecordError,
} from '../manifest/index.js';
import { materializeKeys, runKeys } from '../contracts/keys.js';
import type { SlideRecord } from '../contracts/slide-record.js';
import type { MaterializeSlideRef } from '../contracts/slide-job.js';
import { localSlidePath, workerSlideOptions } from '../staging/local-slide.js';
import { listAll } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { isStoreError } from '../store/store-errors.js';
import { openSlide } from '../wsi/open-slide.js';
import { cropListedPositions, duplicatePosition, positionOutsideSlide } from '../manifest/materialize-crops.js';

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

const maxPageBytes = 200_000;
const firstErrors = 10;

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
  const prefix = materializeKeys.prefix(input.runId);
  const doneKey = materializeKeys.grouping(prefix);
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
  const prefix = materializeKeys.prefix(input.runId);
  if (!(await deps.store.exists(materializeKeys.grouping(prefix)))) {
    throw new PathgenError(
      'InvalidInput',
      `run ${input.runId} has no materialize grouping: run groupMaterializeInput first`,
      { runId: input.runId },
    );
  }
  // Slide references are usually short; a page of long ones is cut until it fits a workflow payload.
  for (let limit = input.limit; ; limit = Math.ceil(limit / 2)) {
    const page = await readMaterializeSlidesPage(deps.store, materializeKeys.slides(prefix), {
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
  const recordKey = runKeys.slideRecord(input.runId, input.slideId);
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

  const prefix = materializeKeys.prefix(input.runId);
  const keys = {
    patches: materializeKeys.groupedPatches(prefix, input.slideId),
    records: materializeKeys.records(prefix, input.slideId),
  };
  const { patches, duplicates } = await slidePatches(store, prefix, input);
  const context = Context.current();
  const signal = context.cancellationSignal;
  const localPath = await localSlidePath(deps, input.slide, signal, (bytes, total) =>
    context.heartbeat({ phase: 'staging', bytes, total } satisfies MaterializeHeartbeat),
  );
  const reader = await whileHeartbeating(
    () => ({ phase: 'opening' }) satisfies MaterializeHeartbeat,
    () => openSlide(localPath, workerSlideOptions(deps, signal)),
  );

  let cropped: Awaited<ReturnType<typeof cropListedPositions>>;
  try {
    const last = context.info.heartbeatDetails as MaterializeHeartbeat | undefined;
    cropped = await cropListedPositions({
      store,
      reader,
      patches,
      prefix,
      slideId: input.slideId,
      patchSize,
      resumeFrom: last?.phase === 'patches' && last.total === patches.length ? last.next : 0,
      signal,
      onProgress: (next, written) =>
        context.heartbeat({ phase: 'patches', next, total: patches.length, written } satisfies MaterializeHeartbeat),
    });
  } finally {
    await reader.close();
  }

  const { samples, failures, reused, written } = cropped;
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
  for await (const object of listAll(store, materializeKeys.groupedPatchesParts(prefix, input.slideId)))
    parts.push(object.key);
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
  checkId('run id', 'runId', runId);
}

function checkSlideId(slideId: string): void {
  checkId('slide id', 'slideId', slideId);
}

/** Ids become store key segments: the same rule as a manifest's slide ids. */
function checkId(name: string, field: string, value: string): void {
  if (!slideIdPattern.test(value)) {
    throw new PathgenError(
      'InvalidInput',
      `${name} ${JSON.stringify(value)} must be 1–200 letters, digits, '.', '_' or '-'`,
      { [field]: value },
    );
  }
}
