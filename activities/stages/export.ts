import { Context } from '@temporalio/activity';
import path from 'node:path';
import { z } from 'zod';
import { withTypedFailures } from '../runtime/activity-failure.js';
import { compareKeys, exportDataset, resumableCheckpoint } from '../export/index.js';
import type {
  DatasetCardJson,
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

/** Where an interrupted exportRun stands; a few kilobytes whatever the run's size. */
export interface ExportRunCheckpoint {
  export: ExportCheckpoint;
  /** Slides and failures up to the checkpoint's last sample. */
  tally: RunTally;
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
      if (resumeFrom !== undefined && inherited !== undefined) Object.assign(tally, copyTally(inherited.tally));
      const slides = await listSlideRecords(store, input.runId);
      const samples = runSamples(store, input.runId, slides, tally, signal, resumeFrom?.lastKey);
      return await exportDataset(samples, {
        ...options,
        // Filled while the samples stream: exportDataset reads it for the card after the last sample.
        failures: tally.failures,
        ...(resumeFrom !== undefined ? { resumeFrom } : {}),
        onCheckpoint: (finished) => {
          // Taken while exportDataset holds the chunk's last sample: the tally stops at it too.
          checkpoint = { export: finished, tally: copyTally(tally) };
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
  if (!outcome.written) {
    // A retry after the version was published streamed nothing: take the counts from what was published.
    const recount: RunTally = { slides: 0, failedSlides: 0, failures: {} };
    const slides = await listSlideRecords(store, input.runId);
    for await (const record of readSlideRecords(store, input.runId, slides)) countSlide(record, recount);
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

const count = z.number().int().nonnegative();
const runCheckpointSchema = z.object({
  // exportDataset checks its own part (resumableCheckpoint): here it only has to be there.
  export: z.record(z.string(), z.unknown()),
  tally: z.object({ slides: count, failedSlides: count, failures: z.record(z.string(), count) }),
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
