import { Context } from '@temporalio/activity';
import type { StageRecord } from './agents.js';
import { withTypedFailures } from '../runtime/activity-failure.js';
import { zeroUsage } from '../agents/index.js';
import { PathgenError } from '../common/errors.js';
import { isManifestRowError, manifestSourceFromReference, readManifest, readManifestPage } from '../manifest/index.js';
import type { ManifestCursor, ManifestRow, ManifestRowError, ManifestSource } from '../manifest/index.js';
import type { RunSettings, RunSettingsOverrides } from '../contracts/run-settings.js';
import { agentKeys, runKeys } from '../contracts/keys.js';
import type { SampleRef, SlideRecord } from '../contracts/slide-record.js';
import { jobSlide, type RecordSlideInput, type SlideJob } from '../contracts/slide-job.js';
import type { SlideStatus, SlideSummary } from '../contracts/slide-job.js';
import type { SelectPatchesResult } from './select.js';
import { getIfExists } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';

// The run workflow takes its cursor type from here, the run stage's factory.
export type { ManifestCursor };

// The run's own CPU activities: resolve settings and check the manifest once, hand out manifest
// pages, write each slide's record, and find what failed (failed slides, completed slides with
// failed patches) for a rerun. The workflow keeps only counts and cursors; rows, errors and
// records live in the store.

/** A manifest as a run input names it: inline rows (small runs) or a JSONL/CSV file or store key. */
export type ManifestRef = { rows: unknown[] } | { uri: string; format?: 'jsonl' | 'csv' };

export interface PrepareRunInput {
  runId: string;
  /** Absent for runs without rows to check (materialize mode, a rerun of failed slides). */
  manifest?: ManifestRef;
  settings?: RunSettingsOverrides;
}

export interface PrepareRunResult {
  settings: RunSettings;
  rows: number;
  goodRows: number;
  badRows: number;
  /** `runs/<runId>/manifest-errors.jsonl`: every bad row with its line and fields. */
  errorsKey: string;
  /** The first few bad rows, as people read them. */
  firstErrors: string[];
}

export interface ManifestPageInput {
  runId: string;
  manifest: ManifestRef;
  cursor?: ManifestCursor;
  limit: number;
}

export interface ManifestPageResult {
  rows: ManifestRow[];
  next?: ManifestCursor;
}

export interface FailedSlidesInput {
  runId: string;
  /**
   * Only slides that failed for this reason (failure type), or, with `patchFailures`, completed
   * slides with patches that failed with this code; everything failed when absent.
   */
  reason?: string;
  /** Also completed pipeline slides whose record has patch failures: a rerun brings their patches back. */
  patchFailures?: boolean;
  /** Store key to continue after. */
  startAfter?: string;
  limit: number;
}

/** What a slide's record added to the run's progress, for a rerun to take back before it counts again. */
export interface CountedSlide {
  status: SlideStatus;
  /** When the slide workflow started (workflow time), to tell whether this execution of the run counted it. */
  startedAt: string;
  selected: number;
  captioned: number;
  failures: Record<string, number>;
}

export interface FailedSlide {
  job: SlideJob;
  /** The slide's failure type; for a completed slide, the code of its (first matching) patch failures. */
  reason: string;
  /** Absent in listings recorded before completed slides were listed. */
  counted?: CountedSlide;
}

export interface FailedSlidesResult {
  slides: FailedSlide[];
  /** Slides that failed but whose record has no manifest row to rerun from. */
  unrunnable: number;
  next?: string;
}

export interface RunDeps {
  store: ObjectStore;
  /** This worker's config with the run's overrides, validated by the config schema. */
  resolveRunSettings: (overrides: RunSettingsOverrides | undefined) => RunSettings;
}

export function createRunActivities(deps: RunDeps) {
  return {
    prepareRun: (input: PrepareRunInput) => withTypedFailures(() => prepareRun(deps, input)),
    readManifestPage: (input: ManifestPageInput) => withTypedFailures(() => manifestPage(deps, input)),
    recordSlide: (input: RecordSlideInput) => withTypedFailures(() => recordSlide(deps, input)),
    listFailedSlides: (input: FailedSlidesInput) => withTypedFailures(() => listFailedSlides(deps, input)),
  };
}

export type RunActivities = ReturnType<typeof createRunActivities>;

function sourceOf(manifest: ManifestRef, store: ObjectStore): ManifestSource {
  if ('rows' in manifest) {
    if (!Array.isArray(manifest.rows)) throw new PathgenError('InvalidInput', 'manifest.rows must be an array');
    return { kind: 'inline', rows: manifest.rows };
  }
  if (typeof manifest.uri !== 'string' || manifest.uri.trim() === '') {
    throw new PathgenError(
      'InvalidInput',
      'manifest must be {"rows": [...]} or {"uri": "<path, s3:// URI or store key>"}',
    );
  }
  return manifestSourceFromReference(manifest.uri, store, manifest.format);
}

async function prepareRun(deps: RunDeps, input: PrepareRunInput): Promise<PrepareRunResult> {
  if (typeof input.runId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(input.runId)) {
    throw new PathgenError(
      'InvalidInput',
      `runId ${JSON.stringify(input.runId)} must be 1-128 letters, digits, '.', '_' or '-'`,
    );
  }
  const settings = deps.resolveRunSettings(input.settings);
  const errorsKey = runKeys.manifestErrors(input.runId);
  // A rerun keeps the first execution's record of bad rows; materialize mode has none.
  if (!input.manifest) return { settings, rows: 0, goodRows: 0, badRows: 0, errorsKey, firstErrors: [] };
  const source = sourceOf(input.manifest, deps.store);
  const context = Context.current();
  const errors: ManifestRowError[] = [];
  let rows = 0;
  for await (const item of readManifest(source, { store: deps.store })) {
    rows += 1;
    if (isManifestRowError(item)) errors.push(item);
    if (rows % 5000 === 0) context.heartbeat({ rows });
  }
  await deps.store.put(errorsKey, Buffer.from(errors.map((error) => `${JSON.stringify(error)}\n`).join('')), {
    contentType: 'application/x-ndjson',
  });
  return {
    settings,
    rows,
    goodRows: rows - errors.length,
    badRows: errors.length,
    errorsKey,
    firstErrors: errors.slice(0, 10).map(formatRowError),
  };
}

export function formatRowError(error: ManifestRowError): string {
  const fields = error.errors.map((field) => `${field.field}: ${field.message}`).join('; ');
  return `line ${error.line}${error.slideId ? ` (${error.slideId})` : ''}: ${fields}`;
}

/** Good rows only: bad ones (duplicates included, which a page alone cannot see) were counted at the start. */
async function manifestPage(deps: RunDeps, input: ManifestPageInput): Promise<ManifestPageResult> {
  const source = sourceOf(input.manifest, deps.store);
  const badLines = new Set(
    (await deps.store.get(runKeys.manifestErrors(input.runId)))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as ManifestRowError).line),
  );
  const page = await readManifestPage(source, {
    store: deps.store,
    limit: input.limit,
    maxPageBytes: 256 * 1024,
    ...(input.cursor ? { cursor: input.cursor } : {}),
  });
  return {
    rows: page.rows.filter((ok) => !badLines.has(ok.line)).map((ok) => ok.row),
    ...(page.next ? { next: page.next } : {}),
  };
}

async function recordSlide(deps: RunDeps, input: RecordSlideInput): Promise<SlideSummary> {
  const { store } = deps;
  const counts: Record<string, number> = {};
  const failures: Record<string, number> = {};
  const samples: SampleRef[] = [];
  if (input.candidates !== undefined) counts.candidates = input.candidates;
  if (input.selectResultKey) {
    const selected = JSON.parse((await store.get(input.selectResultKey)).toString()) as SelectPatchesResult;
    counts.selected = selected.selected;
    let captioned = 0;
    for (const patch of selected.patches) {
      const [x, y] = patch.id.split('_').map(Number) as [number, number];
      const sample: SampleRef = {
        id: patch.id,
        x,
        y,
        level: patch.level ?? 0,
        size: patch.size ?? 0,
        jpegKey: patch.key,
      };
      if (patch.mpp !== undefined) sample.mpp = patch.mpp;
      if (input.agentsPrefix) {
        const key = agentKeys.stage(input.agentsPrefix, 'summarize', patch.id);
        const stored = await getIfExists(store, key);
        const record: StageRecord<object> = stored
          ? (JSON.parse(stored.toString()) as StageRecord<object>)
          : { ok: false, failure: { agent: 'summarize', code: 'NotProcessed', reason: 'no summarize result' } };
        if (record.ok) {
          sample.recordKey = key;
          captioned += 1;
        } else {
          sample.failure = record.failure;
          failures[record.failure.code] = (failures[record.failure.code] ?? 0) + 1;
        }
      }
      samples.push(sample);
    }
    counts.captioned = captioned;
    counts.failedPatches = selected.patches.length - captioned;
  }
  const slide = jobSlide(input.job);
  const record: SlideRecord = {
    runId: input.runId,
    slideId: slide.slideId,
    slide: slide.slide,
    ...(slide.project !== undefined ? { project: slide.project } : {}),
    status: input.status,
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(input.message !== undefined ? { message: input.message } : {}),
    counts,
    failures,
    usage: input.usage ?? zeroUsage,
    samples,
    prefixes: input.prefixes,
    startedAt: input.startedAt,
    finishedAt: new Date().toISOString(),
    job: input.job,
  };
  await store.put(runKeys.slideRecord(input.runId, slide.slideId), Buffer.from(`${JSON.stringify(record)}\n`), {
    contentType: 'application/json',
  });
  return {
    slideId: slide.slideId,
    status: input.status,
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    counts,
    failures,
  };
}

async function listFailedSlides(deps: RunDeps, input: FailedSlidesInput): Promise<FailedSlidesResult> {
  const slides: FailedSlidesResult['slides'] = [];
  let unrunnable = 0;
  let last: string | undefined;
  const prefix = runKeys.slideRecords(input.runId);
  let page = await deps.store.listPage(prefix, {
    limit: 1000,
    ...(input.startAfter ? { startAfter: input.startAfter } : {}),
  });
  for (;;) {
    for (const object of page.objects) {
      last = object.key;
      const record = JSON.parse((await deps.store.get(object.key)).toString()) as SlideRecord;
      const reason = rerunReason(record, input);
      if (reason === undefined) continue;
      if (record.job) slides.push({ job: record.job, reason, counted: countedOf(record) });
      else unrunnable += 1;
      if (slides.length >= input.limit) return { slides, unrunnable, next: last };
    }
    if (page.nextStartAfter === undefined) return { slides, unrunnable };
    page = await deps.store.listPage(prefix, { limit: 1000, startAfter: page.nextStartAfter });
  }
}

/**
 * Why a slide's record is rerun, or undefined when it is not: a failed slide (of the reason asked
 * for), or, with `patchFailures`, a pipeline slide with patch failures (of that code). A completed
 * materialize slide's failures are positions its slide does not have: a rerun would not change them.
 */
function rerunReason(record: SlideRecord, input: { reason?: string; patchFailures?: boolean }): string | undefined {
  const codes =
    input.patchFailures && record.job?.kind === 'pipeline'
      ? Object.keys(record.failures ?? {})
          .filter((code) => (record.failures[code] ?? 0) > 0)
          .sort()
      : [];
  const patchCode = input.reason === undefined ? codes[0] : codes.find((code) => code === input.reason);
  if (record.status === 'failed') {
    const reason = record.reason ?? 'Unknown';
    return input.reason === undefined || input.reason === reason || patchCode !== undefined ? reason : undefined;
  }
  return patchCode;
}

function countedOf(record: SlideRecord): CountedSlide {
  return {
    status: record.status,
    startedAt: record.startedAt,
    selected: record.counts.selected ?? 0,
    captioned: record.counts.captioned ?? 0,
    failures: { ...record.failures },
  };
}
