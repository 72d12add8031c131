import { z } from 'zod';
import { PathgenError } from '../../activities/common/errors.js';
import { runKeys } from '../../activities/contracts/keys.js';
import type { SlideRecord } from '../../activities/contracts/slide-record.js';
import { sampleKey } from '../../activities/export/sample-key.js';
import { forEachBounded } from '../../activities/export/store-upload.js';
import { listAll } from '../../activities/store/object-store.js';
import type { ObjectInfo, ObjectStore } from '../../activities/store/object-store.js';
import { refreshStale, type Refreshable } from './stale-refresh.js';

// What the run page lists for each slide, kept in memory per run: a run of 4,000 slides is 4,000
// records, too many to read on every page view. A refresh lists the records (a few pages) and reads
// again only those whose etag or modification time changed, so a finished run costs one listing,
// and after the first one no request waits for it (stale-refresh.ts).

export interface SlideSummary {
  slideId: string;
  /** The id the export names the slide by (`wsi_id`). */
  wsiId: string;
  project?: string;
  status: string;
  reason?: string;
  message?: string;
  counts: Record<string, number>;
  failures: Record<string, number>;
  samples: number;
  captioned: number;
  /** Captioned samples of a completed slide (what its export holds, and what review can act on). */
  reviewable: ReviewableSample[];
  /** The tile stage ran, so a thumbnail can be shown. */
  hasThumbnail: boolean;
  finishedAt?: string;
  /** Changes whenever the record does. */
  version: string;
}

export interface ReviewableSample {
  /** `<x>_<y>`: the patch page's id. */
  id: string;
  /** The export's sample key. */
  key: string;
}

const recordSchema = z.looseObject({
  slideId: z.string(),
  status: z.string(),
  project: z.string().optional(),
  wsiId: z.string().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
  counts: z.record(z.string(), z.number()).default({}),
  failures: z.record(z.string(), z.number()).default({}),
  samples: z
    .array(
      z.looseObject({
        id: z.string(),
        x: z.number().optional(),
        y: z.number().optional(),
        recordKey: z.string().optional(),
        failure: z.unknown().optional(),
      }),
    )
    .default([]),
  prefixes: z.record(z.string(), z.string()).default({}),
  finishedAt: z.string().optional(),
});

/** A slide record read back, or a typed failure naming the key (never a raw parse error). */
export function parseSlideRecord(key: string, bytes: Buffer): SlideRecord {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new PathgenError('RecordInvalid', `${key} is not JSON`, { key });
  }
  const parsed = recordSchema.safeParse(json);
  if (!parsed.success) throw new PathgenError('RecordInvalid', `${key} is not a slide record`, { key });
  return parsed.data as unknown as SlideRecord;
}

function objectVersion(info: ObjectInfo): string {
  return info.etag ?? `${info.size}-${info.lastModified.getTime()}`;
}

function reviewableSamples(record: SlideRecord): ReviewableSample[] {
  if (record.status !== 'completed') return [];
  const reviewable: ReviewableSample[] = [];
  for (const sample of record.samples) {
    if (sample.failure !== undefined || sample.recordKey === undefined) continue;
    // A sample whose corner is not a pair of pixel indices has no export key: it cannot be reviewed.
    if (!Number.isSafeInteger(sample.x) || !Number.isSafeInteger(sample.y) || sample.x < 0 || sample.y < 0) continue;
    reviewable.push({ id: sample.id, key: sampleKey(record.slideId, sample.x, sample.y) });
  }
  return reviewable;
}

function summarize(record: SlideRecord, version: string): SlideSummary {
  return {
    slideId: record.slideId,
    wsiId: record.wsiId ?? record.slideId,
    project: record.project,
    status: record.status,
    reason: record.reason,
    message: record.message,
    counts: record.counts,
    failures: record.failures,
    samples: record.samples.length,
    captioned: record.samples.filter((sample) => sample.recordKey !== undefined).length,
    reviewable: reviewableSamples(record),
    hasThumbnail: Boolean(record.prefixes.tile),
    finishedAt: record.finishedAt,
    version,
  };
}

/** `runs/<run>/slides/<slide>.json` → `<slide>`, or undefined for anything else under the prefix. */
function slideIdOfKey(prefix: string, key: string): string | undefined {
  const rest = key.slice(prefix.length);
  return rest.endsWith('.json') && !rest.includes('/') ? rest.slice(0, -'.json'.length) : undefined;
}

interface RunEntry extends Refreshable {
  slides: Map<string, SlideSummary>;
}

export class SlideSummaries {
  private readonly runs = new Map<string, RunEntry>();

  constructor(
    private readonly store: ObjectStore,
    /** How long a listing is trusted before the next request lists again. */
    private readonly refreshMs: number,
  ) {}

  /** The run's slides in id order; an empty list when the run has no records. */
  async of(runId: string): Promise<SlideSummary[]> {
    const entry: RunEntry = this.runs.get(runId) ?? { slides: new Map(), refreshedAt: -Infinity };
    this.runs.set(runId, entry);
    await refreshStale(entry, this.refreshMs, () => this.refresh(runId, entry));
    return [...entry.slides.values()].sort((a, b) => (a.slideId < b.slideId ? -1 : a.slideId > b.slideId ? 1 : 0));
  }

  private async refresh(runId: string, entry: RunEntry): Promise<void> {
    const prefix = runKeys.slideRecords(runId);
    const listed = new Map<string, ObjectInfo>();
    for await (const info of listAll(this.store, prefix)) {
      const slideId = slideIdOfKey(prefix, info.key);
      if (slideId !== undefined) listed.set(slideId, info);
    }
    for (const slideId of entry.slides.keys()) if (!listed.has(slideId)) entry.slides.delete(slideId);
    const changed = [...listed].filter(([slideId, info]) => entry.slides.get(slideId)?.version !== objectVersion(info));
    await forEachBounded(changed, 16, async ([slideId, info]) => {
      entry.slides.set(slideId, await this.readSummary(slideId, info));
    });
    entry.refreshedAt = Date.now();
  }

  /** A record that does not parse is listed as unreadable rather than hiding the whole run. */
  private async readSummary(slideId: string, info: ObjectInfo): Promise<SlideSummary> {
    try {
      return summarize(parseSlideRecord(info.key, await this.store.get(info.key)), objectVersion(info));
    } catch (error) {
      if (!(error instanceof PathgenError) || error.code !== 'RecordInvalid') throw error;
      const empty = { counts: {}, failures: {}, samples: 0, captioned: 0, reviewable: [], hasThumbnail: false };
      return {
        slideId,
        wsiId: slideId,
        status: 'unreadable',
        message: error.message,
        ...empty,
        version: objectVersion(info),
      };
    }
  }
}
