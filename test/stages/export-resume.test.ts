import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeroUsage } from '../../activities/agents/index.js';
import { sampleKey } from '../../activities/export/index.js';
import { createExportActivities } from '../../activities/stages/export.js';
import type { ExportHeartbeat, ExportRunInput, ExportRunResult } from '../../activities/stages/export.js';
import { runKeys } from '../../activities/contracts/keys.js';
import type { SampleRef, SlideRecord } from '../../activities/contracts/slide-record.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { listAll } from '../../activities/store/object-store.js';
import { jpegOf } from '../export/export-samples.js';
import { activityEnvironment, runActivity } from './activity-harness.js';

// exportRun killed in the middle (cancelled after a few shards) and retried with the heartbeat
// details Temporal hands the next attempt: the retry continues after the checkpoint's sample,
// reads neither the images nor the slide records before it, and publishes what an uninterrupted
// export publishes, byte for byte, with the same counts of slides and failures.

/** An fs store that records what was read. */
class ReadCountingStore extends FsObjectStore {
  reads: string[] = [];
  override async get(key: string): Promise<Buffer> {
    this.reads.push(key);
    return await super.get(key);
  }
}

const runId = 'run-resume';
const createdAt = '2025-03-01T12:00:00.000Z';
const coad = 'TCGA-AA-3844-01Z-00-DX1.bf88ce1f';
const input: ExportRunInput = { runId, version: 'v1', createdAt, samplesPerShard: 4 };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-export-run-resume-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function slideRecord(slideId: string, fields: Partial<SlideRecord>): SlideRecord {
  return {
    runId,
    slideId,
    slide: `slides/${slideId}.svs`,
    status: 'completed',
    counts: {},
    failures: {},
    usage: zeroUsage,
    samples: [],
    prefixes: {},
    startedAt: createdAt,
    finishedAt: createdAt,
    ...fields,
  };
}

/**
 * The same run in any store: slides in key order TCGA-… (with a failed patch, a patch without a
 * caption record and one whose image is gone), a failed slide, "s" and "s_1" (whose keys
 * interleave; one caption record without a caption), and "zz" (another image gone).
 * Returns each exportable image's sample key.
 */
async function writeRun(store: FsObjectStore): Promise<Map<string, string>> {
  const images = new Map<string, string>();
  const slide = async (slideId: string, count: number, project: string | undefined, broken: Record<number, string>) => {
    const samples: SampleRef[] = [];
    for (let i = 0; i < count; i++) {
      const x = i % 3;
      const y = i * 672;
      const id = `${x}_${y}`;
      const jpegKey = `runs/${runId}/patches/${slideId}/${id}.jpg`;
      const recordKey = `runs/${runId}/records/${slideId}/${id}.json`;
      const problem = broken[i];
      if (problem !== 'image') await store.put(jpegKey, await jpegOf(i + slideId.length));
      const caption =
        problem === 'caption' ? { ok: false } : { caption: `${slideId} patch ${i}${' more'.repeat(i % 5)}` };
      await store.put(recordKey, Buffer.from(JSON.stringify({ ...caption, tokens: i })));
      const ref: SampleRef = { id, x, y, level: 0, size: 672, mpp: 0.25, jpegKey, recordKey };
      if (problem === 'failed') {
        delete ref.recordKey;
        ref.failure = { agent: 'summarize', code: 'ModelOutputInvalid', reason: 'no caption' };
      }
      if (problem === 'no-record') delete ref.recordKey;
      if (problem === undefined || problem === 'image') images.set(jpegKey, sampleKey(slideId, x, y));
      samples.push(ref);
    }
    const record = slideRecord(slideId, { ...(project === undefined ? {} : { project }), samples });
    await store.put(runKeys.slideRecord(runId, slideId), Buffer.from(JSON.stringify(record)));
  };
  await slide(coad, 20, 'TCGA-COAD', { 2: 'failed', 5: 'no-record', 11: 'image' });
  const failed = slideRecord('failed-slide', { status: 'failed', reason: 'NoTissue' });
  await store.put(runKeys.slideRecord(runId, 'failed-slide'), Buffer.from(JSON.stringify(failed)));
  await slide('s', 12, 'TCGA-LUAD', {});
  await slide('s_1', 12, undefined, { 7: 'caption' });
  await slide('zz', 15, 'TCGA-COAD', { 9: 'image' });
  return images;
}

function exportRun(store: FsObjectStore) {
  return createExportActivities({ store, countTokens: (text) => text.split(' ').length + 2 }).exportRun;
}

async function exportedObjects(store: FsObjectStore): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  for await (const object of listAll(store, 'exports/')) objects.set(object.key, await store.get(object.key));
  return objects;
}

describe('exportRun resumed after a kill', () => {
  let reference: { result: ExportRunResult; objects: Map<string, Buffer>; imageReads: string[] };

  beforeAll(async () => {
    const store = new ReadCountingStore({ root: path.join(dir, 'reference') });
    await writeRun(store);
    store.reads = [];
    const result = await runActivity(exportRun(store), input);
    reference = {
      result,
      objects: await exportedObjects(store),
      imageReads: store.reads.filter((key) => key.includes('/patches/')),
    };
  });

  it('exports the run uninterrupted with every failure counted', () => {
    expect(reference.result).toMatchObject({
      samples: 54,
      shards: 14,
      slides: 5,
      failedSlides: 1,
      failures: {
        CaptionMissing: 1,
        CaptionRecordMissing: 1,
        ModelOutputInvalid: 1,
        NoTissue: 1,
        PatchImageMissing: 2,
      },
    });
  });

  // The last checkpoint heartbeated, or an older one (the server keeps throttled heartbeats).
  // The slides wholly before the checkpoint's sample are not even read again.
  it.each([
    ['the last checkpoint', 6, [coad, 'failed-slide']],
    ['an older checkpoint', 3, []],
  ])('from %s, byte for byte, reading nothing before it', async (_, resumeAfter, unread) => {
    const store = new ReadCountingStore({ root: path.join(dir, `cut-${resumeAfter}`) });
    const images = await writeRun(store);
    const first = activityEnvironment();
    const heartbeats: ExportHeartbeat[] = [];
    first.on('heartbeat', (details: ExportHeartbeat) => {
      heartbeats.push(JSON.parse(JSON.stringify(details)) as ExportHeartbeat);
      if (details.checkpoint?.export.chunks === 6) first.cancel();
    });
    const cancelled = await first.run(exportRun(store), input).catch((error: unknown) => error);
    expect(cancelled).toMatchObject({ name: 'CancelledFailure' });
    expect(await store.exists(`exports/${runId}/LATEST.json`)).toBe(false);

    const details = heartbeats.find((heartbeat) => heartbeat.checkpoint?.export.chunks === resumeAfter)!;
    expect(heartbeats.at(-1)?.checkpoint?.export.chunks).toBe(6);
    // A few kilobytes: counts, histograms and the tally, nothing per sample or slide.
    expect(JSON.stringify(details).length).toBeLessThan(2048);
    const lastKey = details.checkpoint!.export.lastKey;

    store.reads = [];
    const second = activityEnvironment({ heartbeatDetails: details, attempt: 2 });
    const resumedHeartbeats: ExportHeartbeat[] = [];
    second.on('heartbeat', (heartbeat: ExportHeartbeat) => resumedHeartbeats.push(heartbeat));
    const resumed: ExportRunResult = await second.run(exportRun(store), input);

    // Until it has a checkpoint of its own, the retry heartbeats the one it inherited.
    expect(resumedHeartbeats[0]).toMatchObject({ phase: 'listing', checkpoint: details.checkpoint });
    expect(resumed).toEqual({ ...reference.result, urlPattern: resumed.urlPattern });
    const objects = await exportedObjects(store);
    expect([...objects.keys()]).toEqual([...reference.objects.keys()]);
    for (const [key, bytes] of reference.objects) expect(objects.get(key)?.equals(bytes), key).toBe(true);

    const imageReads = store.reads.filter((key) => key.includes('/patches/'));
    expect(imageReads.every((key) => images.get(key)! > lastKey)).toBe(true);
    expect(imageReads.sort()).toEqual(reference.imageReads.filter((key) => images.get(key)! > lastKey).sort());
    const recordReads = store.reads.filter((key) => key.startsWith(runKeys.slideRecords(runId)));
    expect(recordReads).toHaveLength(5 - unread.length);
    for (const slideId of unread) expect(recordReads).not.toContain(runKeys.slideRecord(runId, slideId));
  });

  it('starts over, writing the same export, from a checkpoint whose shards are gone', async () => {
    const store = new ReadCountingStore({ root: path.join(dir, 'gone') });
    await writeRun(store);
    const first = activityEnvironment();
    let details: ExportHeartbeat | undefined;
    first.on('heartbeat', (heartbeat: ExportHeartbeat) => {
      details = JSON.parse(JSON.stringify(heartbeat)) as ExportHeartbeat;
      if (heartbeat.checkpoint?.export.chunks === 2) first.cancel();
    });
    await first.run(exportRun(store), input).catch(() => undefined);
    await store.delete(`exports/${runId}/versions/v1/shards/shard-000001.tar`);
    store.reads = [];
    const resumed = await runActivity(exportRun(store), input, { heartbeatDetails: details });
    expect(resumed).toEqual({ ...reference.result, urlPattern: resumed.urlPattern });
    expect(store.reads.filter((key) => key.includes('/patches/'))).toHaveLength(reference.imageReads.length);
    const objects = await exportedObjects(store);
    for (const [key, bytes] of reference.objects) expect(objects.get(key)?.equals(bytes), key).toBe(true);
  });
});
