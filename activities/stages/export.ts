import { Context } from '@temporalio/activity';
import path from 'node:path';
import { z } from 'zod';
import { withTypedFailures } from '../runtime/activity-failure.js';
import { compareKeys, exportDataset, resumableCheckpoint } from '../export/index.js';
import type {
  DatasetCardJson,
  DatasetReviewCounts,
  ExportCheckpoint,
  ExportFormats,
  ExportOptions,
  ExportPointer,
} from '../export/index.js';
import {
  countSlide,
  exportSampleFailures,
  listSlideRecords,
  readSlideRecords,
  runSamples,
} from '../export/run-samples.js';
import type { RunTally } from '../export/run-samples.js';
import { readExportPointer } from '../export/export-pointer.js';
import { exportReviewState, honourReviews } from '../review/export-reviews.js';
import { emptyReviewCounts } from '../review/review-state.js';
import { whileHeartbeating } from '../runtime/heartbeat.js';
import { exportKeys, runKeys } from '../contracts/keys.js';
import type { ObjectStore } from '../store/object-store.js';
import { assertValidPrefix } from '../store/store-errors.js';

// The export stage on the CPU queue: a run's slide records (the slide workflow's last word on each
// slide, see contracts/slide-record.ts) → one published export version, its samples streamed in key
// order by export/run-samples.ts. A killed export resumes: every finished shard is heartbeated as a
// checkpoint (exportDataset's, with the run's tally of slides and failures up to the same sample),
// and a retried attempt of the same version reads it from its heartbeat details and continues after
// that sample. Every heartbeat carries the latest checkpoint, the inherited one until the attempt
// has its own, so a retry that dies before its first shard does not lose its predecessor's.
// Human reviews (activities/review/) are honoured: the version's snapshot of them is taken at its
// start, flagged samples are left out, edited captions replace the generated ones, and their
// counts travel with the checkpoint like the tally.

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
  /** What the export did with the run's reviews; absent when the run had none. */
  reviews?: DatasetReviewCounts;
}

/** Where an interrupted exportRun stands; a few kilobytes whatever the run's size. */
export interface ExportRunCheckpoint {
  export: ExportCheckpoint;
  /** Slides and failures up to the checkpoint's last sample. */
  tally: RunTally;
  /** Reviewed samples up to the same sample (absent for an export without reviews). */
  reviews?: DatasetReviewCounts;
}

export type ExportHeartbeat = (
  { phase: 'listing' } | { phase: 'exporting'; slides: number; samples: number; shards: number }
) & { checkpoint?: ExportRunCheckpoint };

export interface ExportDeps {
  store: ObjectStore;
  /** CLIP token count of a caption, for the dataset card's token figures. */
  countTokens?: (text: string) => number;
}

export { exportSampleFailures };

export function createExportActivities(deps: ExportDeps) {
  return {
    /** Exports a run's captioned samples as WebDataset shards, CSV, PathGen JSON and a dataset card. */
    exportRun: (input: ExportRunInput) => withTypedFailures(() => exportRun(deps, input)),
  };
}

export type ExportActivities = ReturnType<typeof createExportActivities>;

async function exportRun(deps: ExportDeps, input: ExportRunInput): Promise<ExportRunResult> {
  const { store } = deps;
  const context = Context.current();
  const signal = context.cancellationSignal;
  assertValidPrefix(runKeys.slideRecords(input.runId));
  const exportPrefix = input.exportPrefix ?? exportKeys.prefix(input.runId);
  const inherited = runCheckpointOf(context.info.heartbeatDetails);
  let checkpoint = inherited;
  let progress: ExportHeartbeat = { phase: 'listing', ...(checkpoint === undefined ? {} : { checkpoint }) };
  const tally: RunTally = { slides: 0, failedSlides: 0, failures: { ...input.additionalFailures } };
  const reviewCounts = emptyReviewCounts();
  let reviewed = false;
  const options: ExportOptions = {
    store,
    exportPrefix,
    version: input.version,
    createdAt: input.createdAt,
    title: `pathgen dataset of run ${input.runId}`,
    ...(input.samplesPerShard !== undefined ? { samplesPerShard: input.samplesPerShard } : {}),
    ...(input.formats !== undefined ? { formats: input.formats } : {}),
    ...(input.csvImageRoot !== undefined ? { csvImageRoot: input.csvImageRoot } : {}),
    ...(deps.countTokens !== undefined ? { countTokens: deps.countTokens } : {}),
    signal,
  };

  const outcome = await whileHeartbeating(
    () => progress,
    async () => {
      const resumeFrom = inherited === undefined ? undefined : await resumableCheckpoint(inherited.export, options);
      // The tally carried with the checkpoint counts the slides and failures before its last sample.
      if (resumeFrom !== undefined && inherited !== undefined) {
        Object.assign(tally, copyTally(inherited.tally));
        if (inherited.reviews !== undefined) Object.assign(reviewCounts, inherited.reviews);
      }
      // A version already published is only cleaned up by exportDataset: its reviews are not read.
      const published = (await readExportPointer(store, exportPrefix))?.version === input.version;
      // One entry per reviewed sample (a few hundred bytes each), held for the whole export.
      const reviews = published
        ? new Map()
        : await exportReviewState(
            store,
            input.runId,
            exportKeys.version(exportPrefix, input.version),
            resumeFrom !== undefined,
          );
      reviewed = reviews.size > 0;
      const slides = await listSlideRecords(store, input.runId);
      const runOrder = runSamples(store, input.runId, slides, tally, signal, resumeFrom?.lastKey);
      const samples = reviewed ? honourReviews(runOrder, reviews, reviewCounts) : runOrder;
      return await exportDataset(samples, {
        ...options,
        // Filled while the samples stream: exportDataset reads them for the card after the last sample.
        failures: tally.failures,
        ...(reviewed ? { review: reviewCounts } : {}),
        ...(resumeFrom !== undefined ? { resumeFrom } : {}),
        onCheckpoint: (finished) => {
          // Taken while exportDataset holds the chunk's last sample: the tally stops at it too.
          checkpoint = {
            export: finished,
            tally: copyTally(tally),
            ...(reviewed ? { reviews: { ...reviewCounts } } : {}),
          };
          const shards = finished.layout.formats.webdataset ? finished.chunks : 0;
          progress = { phase: 'exporting', slides: tally.slides, samples: finished.samples, shards, checkpoint };
          context.heartbeat(progress);
        },
        onProgress: ({ samples: count, shards }) => {
          progress = {
            phase: 'exporting',
            slides: tally.slides,
            samples: count,
            shards,
            ...(checkpoint === undefined ? {} : { checkpoint }),
          };
          context.heartbeat(progress);
        },
      });
    },
  );

  const { pointer } = outcome;
  let failures = tally.failures;
  let reviews: DatasetReviewCounts | undefined = reviewed ? reviewCounts : undefined;
  if (!outcome.written) {
    // A retry after the version was published streamed nothing: take the counts from what was published.
    const recount: RunTally = { slides: 0, failedSlides: 0, failures: {} };
    const slides = await listSlideRecords(store, input.runId);
    for await (const record of readSlideRecords(store, input.runId, slides)) countSlide(record, recount);
    tally.slides = recount.slides;
    tally.failedSlides = recount.failedSlides;
    ({ failures, reviews } = await publishedCounts(store, pointer));
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
    ...(reviews !== undefined ? { reviews: { ...reviews } } : {}),
  };
}

const count = z.number().int().nonnegative();
const runCheckpointSchema = z.object({
  // exportDataset checks its own part (resumableCheckpoint): here it only has to be there.
  export: z.record(z.string(), z.unknown()),
  tally: z.object({ slides: count, failedSlides: count, failures: z.record(z.string(), count) }),
  reviews: z.object({ reviewed: count, flagged: count, edited: count, accepted: count }).optional(),
});

/** The checkpoint a previous attempt heartbeated, if its details hold one. */
function runCheckpointOf(details: unknown): ExportRunCheckpoint | undefined {
  const checkpoint = (details as { checkpoint?: unknown } | undefined)?.checkpoint;
  const parsed = runCheckpointSchema.safeParse(checkpoint);
  return parsed.success ? (checkpoint as ExportRunCheckpoint) : undefined;
}

function copyTally(tally: RunTally): RunTally {
  return { slides: tally.slides, failedSlides: tally.failedSlides, failures: { ...tally.failures } };
}

async function publishedCounts(
  store: ObjectStore,
  pointer: ExportPointer,
): Promise<{ failures: Record<string, number>; reviews: DatasetReviewCounts | undefined }> {
  const card = JSON.parse((await store.get(pointer.files.cardJson)).toString('utf8')) as DatasetCardJson;
  return {
    failures: Object.fromEntries(card.failures.map(({ reason, count }) => [reason, count])),
    reviews: card.review,
  };
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
