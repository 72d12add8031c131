import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewKeys } from '../../activities/contracts/keys.js';
import { readExportPointer, sampleKey } from '../../activities/export/index.js';
import type { DatasetCardJson, ExportPointer, PathgenJsonRecord } from '../../activities/export/index.js';
import { recordReview } from '../../activities/review/index.js';
import type { ReviewAction } from '../../activities/review/index.js';
import { createExportActivities } from '../../activities/stages/export.js';
import type { ExportHeartbeat, ExportRunInput } from '../../activities/stages/export.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { readTarFiles } from '../export/tar-tools.js';
import { dottedSlide, plainSlide, writeReviewTestRun } from '../review/review-run.js';
import type { ReviewTestRun } from '../review/review-run.js';
import { activityEnvironment, runActivity } from './activity-harness.js';

// exportRun honours a run's reviews: a flagged sample is in no output, an edited caption replaces
// the generated one in every format and the sample's metadata keeps both, the card counts them,
// and a resumed export uses the reviews its version started with.

let dir: string;
let clock = Date.parse('2026-12-07T10:00:00.000Z');
let nonce = 0;
const flaggedKey = sampleKey(dottedSlide, 0, 0);
const editedKey = sampleKey(plainSlide, 672, 0);
const acceptedKey = sampleKey(plainSlide, 0, 0);
const edited = 'Edited: a gland in dense stroma.';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-export-reviews-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function review(store: FsObjectStore, runId: string, key: string, action: ReviewAction, text?: string) {
  await recordReview(
    {
      store,
      countTokens: (caption) => caption.split(' ').length + 2,
      now: () => new Date((clock += 1000)),
      nonce: () => `n${(nonce += 1)}`,
    },
    {
      runId,
      key,
      action,
      reviewer: 'ana@lab',
      ...(action === 'flag' ? { reason: 'out of focus' } : {}),
      ...(action === 'edit' ? { caption: text ?? edited } : {}),
    },
  );
}

async function published(store: FsObjectStore, runId: string) {
  const pointer = (await readExportPointer(store, `exports/${runId}`)) as ExportPointer;
  const read = async (key: string) => (await store.get(key)).toString('utf8');
  const members = (
    await Promise.all(
      Array.from({ length: pointer.shards }, (_, index) =>
        store.get(`${pointer.prefix}shards/shard-${String(index).padStart(6, '0')}.tar`),
      ),
    )
  ).flatMap((shard) => readTarFiles(shard));
  const text = (name: string) => members.find((member) => member.name === name)?.data.toString('utf8');
  return {
    pointer,
    members,
    text,
    tsv: await read(pointer.files.csv!),
    json: JSON.parse(await read(pointer.files.pathgenJson!)) as PathgenJsonRecord[],
    card: JSON.parse(await read(pointer.files.cardJson)) as DatasetCardJson,
    cardMarkdown: await read(pointer.files.card),
  };
}

async function reviewedRun(name: string): Promise<{ store: FsObjectStore; run: ReviewTestRun }> {
  const store = new FsObjectStore({ root: path.join(dir, name) });
  const run = await writeReviewTestRun(store, name);
  await review(store, name, flaggedKey, 'flag');
  await review(store, name, editedKey, 'edit');
  await review(store, name, acceptedKey, 'accept');
  return { store, run };
}

describe('exportRun with reviews', () => {
  it('leaves flagged samples out and puts edited captions in every format, keeping both in the metadata', async () => {
    const runId = 'reviewed';
    const { store, run } = await reviewedRun(runId);
    const exportRun = createExportActivities({ store }).exportRun;
    const result = await runActivity(exportRun, { runId, version: 'v1', createdAt: '2026-12-07T12:00:00.000Z' });
    expect(result).toMatchObject({
      samples: run.captions.size - 1,
      reviews: { reviewed: 3, flagged: 1, edited: 1, accepted: 1 },
    });

    const out = await published(store, runId);
    expect(out.members.some((member) => member.name.startsWith(`${flaggedKey}.`))).toBe(false);
    expect(out.tsv).not.toContain(flaggedKey);
    expect(out.json).toHaveLength(run.captions.size - 1);
    expect(out.json.some((record) => record.caption === run.captions.get(flaggedKey))).toBe(false);

    expect(out.text(`${editedKey}.txt`)).toBe(edited);
    expect(out.tsv).toContain(`images/${editedKey}.jpg\t${edited}\n`);
    expect(out.json.find((record) => record.position[0] === '672' && record.wsi_id === plainSlide)?.caption).toBe(
      edited,
    );
    const metadata = JSON.parse(out.text(`${editedKey}.json`)!) as Record<string, unknown>;
    expect(metadata.review).toEqual({
      caption: edited,
      generatedCaption: run.captions.get(editedKey),
      editedBy: 'ana@lab',
      editedAt: expect.any(String) as string,
    });
    expect(out.text(`${acceptedKey}.txt`)).toBe(run.captions.get(acceptedKey));
    expect(JSON.parse(out.text(`${acceptedKey}.json`)!)).not.toHaveProperty('review');

    expect(out.card.review).toEqual({ reviewed: 3, flagged: 1, edited: 1, accepted: 1 });
    expect(out.cardMarkdown).toContain('## Review');
    expect(out.cardMarkdown).toContain('| 3 | 1 | 1 | 1 |');

    // A retry after the publish writes nothing and reports the same counts, from the card.
    const retried = await runActivity(exportRun, { runId, version: 'v1', createdAt: '2026-12-07T12:00:00.000Z' });
    expect(retried).toEqual({ ...result, written: false });
  });

  it('exports a run without reviews as before: no snapshot, no review counts', async () => {
    const runId = 'unreviewed';
    const store = new FsObjectStore({ root: path.join(dir, runId) });
    const run = await writeReviewTestRun(store, runId);
    const result = await runActivity(createExportActivities({ store }).exportRun, {
      runId,
      version: 'v1',
      createdAt: '2026-12-07T12:00:00.000Z',
    });
    expect(result.samples).toBe(run.captions.size);
    expect(result).not.toHaveProperty('reviews');
    const out = await published(store, runId);
    expect(out.card).not.toHaveProperty('review');
    expect(out.cardMarkdown).not.toContain('## Review');
    expect(await store.exists(reviewKeys.exportSnapshot(out.pointer.prefix))).toBe(false);
  });

  it('resumes with the reviews its version started with, even when new ones arrived', async () => {
    const input: ExportRunInput = {
      runId: 'resumed',
      version: 'v1',
      createdAt: '2026-12-07T12:00:00.000Z',
      samplesPerShard: 2,
    };
    const reference = await reviewedRun('reference');
    const expected = await runActivity(createExportActivities({ store: reference.store }).exportRun, {
      ...input,
      runId: 'reference',
    });

    const { store } = await reviewedRun(input.runId);
    const first = activityEnvironment();
    let details: ExportHeartbeat | undefined;
    first.on('heartbeat', (heartbeat: ExportHeartbeat) => {
      details = JSON.parse(JSON.stringify(heartbeat)) as ExportHeartbeat;
      if (heartbeat.checkpoint?.export.chunks === 1) first.cancel();
    });
    await first.run(createExportActivities({ store }).exportRun, input).catch(() => undefined);
    expect(details?.checkpoint?.reviews).toEqual({ reviewed: 1, flagged: 1, edited: 0, accepted: 0 });

    // Arrives while the export is down: the next export version honours it, this one does not.
    await review(store, input.runId, sampleKey(plainSlide, 1344, 0), 'flag');
    const resumed = await runActivity(createExportActivities({ store }).exportRun, input, {
      heartbeatDetails: details,
      attempt: 2,
    });
    expect(resumed).toMatchObject({
      samples: expected.samples,
      reviews: { reviewed: 3, flagged: 1, edited: 1, accepted: 1 },
    });
    const out = await published(store, input.runId);
    expect(out.text(`${sampleKey(plainSlide, 1344, 0)}.txt`)).toBeDefined();
    expect(out.text(`${editedKey}.txt`)).toBe(edited);

    const next = await runActivity(createExportActivities({ store }).exportRun, { ...input, version: 'v2' });
    expect(next).toMatchObject({ samples: expected.samples - 1, reviews: { reviewed: 4, flagged: 2 } });
  });
});
