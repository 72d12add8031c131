import { z } from 'zod';
import { PathgenError } from '../common/errors.js';
import type { ObjectStore } from '../store/object-store.js';
import type { DatasetStatisticsState } from './dataset-statistics.js';
import { forEachBounded } from './store-upload.js';
import { csvPartKey, pathgenPartKey } from './text-parts.js';
import type { VersionFiles } from './text-parts.js';
import { shardName } from './webdataset-shards.js';

// Where an interrupted export stands: written after every finished chunk (one shard's worth of
// samples: its shard, its TSV and JSON parts, its images), small and of a fixed shape whatever the
// run's size — counts, the last sample's key, the statistics' state, never a list of samples or
// slides. An export resumed from it skips the samples up to `lastKey` without reading them, keeps
// the finished chunks and writes the rest, and ends with the bytes an uninterrupted export writes.

export const exportCheckpointFormat = 'pathgen-export-checkpoint/1';

/** The options that decide the bytes of a chunk: a checkpoint is only good for the same ones. */
export interface ExportLayout {
  samplesPerShard: number;
  formats: { webdataset: boolean; csv: boolean; pathgenJson: boolean };
  tarMtime: number;
  /** The CSV's `filepath` prefix. */
  imageRoot: string;
}

export interface ExportCheckpoint {
  format: typeof exportCheckpointFormat;
  version: string;
  layout: ExportLayout;
  /** Chunks finished and stored: shards 0 … chunks − 1 and their text parts. */
  chunks: number;
  /** Key of the last sample in them. */
  lastKey: string;
  samples: number;
  statistics: DatasetStatisticsState;
  /** Prefix of the text parts, joined into the TSV and the JSON at the end. */
  parts: string;
}

const count = z.number().int().nonnegative();
const histogram = z.array(z.tuple([count, count]));
const checkpointSchema = z.object({
  format: z.literal(exportCheckpointFormat),
  version: z.string(),
  layout: z.object({
    samplesPerShard: z.number().int().positive(),
    formats: z.object({ webdataset: z.boolean(), csv: z.boolean(), pathgenJson: z.boolean() }),
    tarMtime: z.number(),
    imageRoot: z.string(),
  }),
  chunks: z.number().int().positive(),
  lastKey: z.string().min(1),
  samples: z.number().int().positive(),
  statistics: z.object({
    words: histogram,
    tokens: histogram,
    slides: count,
    projects: z.array(z.tuple([z.string(), count, count])),
    open: z.array(z.tuple([z.string(), z.array(z.string())])),
  }),
  parts: z.string(),
}) satisfies z.ZodType<ExportCheckpoint>;

/**
 * The checkpoint in `details` when it fits this export (same version, same layout) and every
 * chunk it names is still in the store; undefined otherwise, and the export starts over. Costs
 * one HEAD request per finished object (shards and parts), none per sample.
 */
export async function usableCheckpoint(
  store: ObjectStore,
  details: unknown,
  expected: { version: string; layout: ExportLayout; files: VersionFiles },
): Promise<ExportCheckpoint | undefined> {
  const parsed = checkpointSchema.safeParse(details);
  if (!parsed.success) return undefined;
  const checkpoint = parsed.data;
  if (!fits(checkpoint, expected)) return undefined;
  let complete = true;
  await forEachBounded(chunkObjects(checkpoint, expected.files), 16, async (key) => {
    if (complete && !(await store.exists(key))) complete = false;
  });
  return complete ? checkpoint : undefined;
}

/** exportDataset's own guard: a checkpoint of another version or layout would mix two exports. */
export function assertCheckpointFits(
  checkpoint: ExportCheckpoint,
  expected: { version: string; layout: ExportLayout; files: VersionFiles },
): void {
  if (!fits(checkpoint, expected)) {
    throw new PathgenError(
      'InvalidInput',
      `the export checkpoint of version ${checkpoint.version} does not fit version ${expected.version} with these options`,
      { version: expected.version, checkpointVersion: checkpoint.version },
    );
  }
}

function fits(
  checkpoint: ExportCheckpoint,
  expected: { version: string; layout: ExportLayout; files: VersionFiles },
): boolean {
  const { layout } = checkpoint;
  return (
    checkpoint.version === expected.version &&
    checkpoint.parts === expected.files.parts &&
    checkpoint.samples === checkpoint.chunks * layout.samplesPerShard &&
    JSON.stringify(canonicalLayout(layout)) === JSON.stringify(canonicalLayout(expected.layout))
  );
}

/** The layout with its keys in one order, so two equal layouts serialise alike. */
export function canonicalLayout(layout: ExportLayout): ExportLayout {
  const { webdataset, csv, pathgenJson } = layout.formats;
  return {
    samplesPerShard: layout.samplesPerShard,
    formats: { webdataset, csv, pathgenJson },
    tarMtime: layout.tarMtime,
    imageRoot: layout.imageRoot,
  };
}

function* chunkObjects(checkpoint: ExportCheckpoint, files: VersionFiles): Generator<string> {
  const { formats } = checkpoint.layout;
  for (let index = 0; index < checkpoint.chunks; index++) {
    if (formats.webdataset) yield `${files.shards}${shardName(index)}`;
    if (formats.csv) yield csvPartKey(files, index);
    if (formats.pathgenJson) yield pathgenPartKey(files, index);
  }
}
