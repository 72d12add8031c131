import { ApplicationFailure } from '@temporalio/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeroUsage } from '../../activities/agents/index.js';
import { readExportPointer, sampleKey } from '../../activities/export/index.js';
import type { DatasetCardJson, ExportPointer, PathgenJsonRecord } from '../../activities/export/index.js';
import { createExportActivities } from '../../activities/stages/export.js';
import type { ExportRunInput, ExportRunResult } from '../../activities/stages/export.js';
import { runKeys } from '../../activities/contracts/keys.js';
import type { SampleRef, SlideRecord } from '../../activities/contracts/slide-record.js';
import { jpegOf } from '../export/export-samples.js';
import { pythonTarMembers } from '../export/tar-tools.js';
import { CountingStore, runActivity } from './activity-harness.js';

let dir: string;
let store: CountingStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-export-run-'));
  store = new CountingStore({ root: dir });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const createdAt = '2025-03-01T12:00:00.000Z';

function exportRun(input: Omit<ExportRunInput, 'createdAt'>): Promise<ExportRunResult> {
  const { exportRun: activity } = createExportActivities({ store, countTokens: (text) => text.split(' ').length + 2 });
  return runActivity(activity, { createdAt, ...input });
}

function slideRecord(runId: string, slideId: string, fields: Partial<SlideRecord>): SlideRecord {
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

/** A captioned sample: its JPEG and caption record in the store, and its reference. */
async function captioned(
  runId: string,
  slideId: string,
  x: number,
  y: number,
  record: Record<string, unknown>,
): Promise<SampleRef> {
  const id = `${x}_${y}`;
  const jpegKey = `runs/${runId}/patches/${slideId}/${id}.jpg`;
  const recordKey = `runs/${runId}/records/${slideId}/${id}.json`;
  await store.put(jpegKey, await jpegOf(x + y));
  await store.put(recordKey, Buffer.from(JSON.stringify(record)));
  return { id, x, y, level: 0, size: 672, mpp: 0.2527, jpegKey, recordKey };
}

async function putSlideRecord(record: SlideRecord): Promise<void> {
  await store.put(runKeys.slideRecord(record.runId, record.slideId), Buffer.from(JSON.stringify(record)));
}

function shardFiles(pointer: ExportPointer): string[] {
  return Array.from({ length: pointer.shards }, (_, i) =>
    store.localFile(`${pointer.prefix}shards/shard-${String(i).padStart(6, '0')}.tar`),
  );
}

async function publishedJson<T>(key: string): Promise<T> {
  return JSON.parse((await store.get(key)).toString('utf8')) as T;
}

describe('exportRun', () => {
  const runId = 'run-a';
  const coad = 'TCGA-AA-3844-01Z-00-DX1.bf88ce1f';
  const luad = 'TCGA-55-8621-01Z-00-DX1.7C519007';
  const agentRecord = (caption: string, n: number) => ({
    ok: true,
    caption,
    description: `description ${n}`,
    revised: `revised ${n}`,
    edits: { added: 1, deleted: 0, modified: 2 },
    backends: { describe: 'builtin', revise: 'builtin', summarize: 'builtin' },
    models: { describe: 'builtin' },
    promptVersions: { describe: 'describe/1' },
    usage: { calls: 3 },
    tokens: 12,
    shortened: 'no',
    x: 999_999, // a record cannot move its sample
  });

  it('exports the captioned samples of completed slides and counts every failure by reason', async () => {
    const samples = [
      await captioned(runId, coad, 672, 1344, agentRecord('Glands with crowded hyperchromatic nuclei.', 1)),
      await captioned(runId, coad, 0, 0, agentRecord('Desmoplastic stroma around an infiltrating gland.', 2)),
      {
        id: '1344_0',
        x: 1344,
        y: 0,
        level: 0,
        size: 672,
        jpegKey: `runs/${runId}/patches/${coad}/1344_0.jpg`,
        failure: { agent: 'summarize', code: 'ModelOutputInvalid', reason: 'no caption in the answer' },
      },
    ];
    await putSlideRecord(
      slideRecord(runId, coad, { project: 'TCGA-COAD', fileId: 'file-coad', wsiId: `${coad}.wsi`, samples }),
    );
    await putSlideRecord(
      slideRecord(runId, luad, { status: 'failed', reason: 'SlideUnreadable', message: 'truncated file' }),
    );

    const result = await exportRun({ runId, version: 'v1', samplesPerShard: 1 });
    const exportPrefix = `exports/${runId}`;
    expect(result).toEqual({
      exportPrefix,
      version: 'v1',
      samples: 2,
      shards: 2,
      slides: 2,
      failedSlides: 1,
      failures: { ModelOutputInvalid: 1, SlideUnreadable: 1 },
      pointerKey: `${exportPrefix}/LATEST.json`,
      urlPattern: path.join(dir, exportPrefix, 'versions/v1/shards/shard-{000000..000001}.tar'),
      written: true,
    });

    const pointer = (await readExportPointer(store, exportPrefix))!;
    const members = (await pythonTarMembers(shardFiles(pointer))).flat();
    const keys = [sampleKey(coad, 0, 0), sampleKey(coad, 672, 1344)];
    expect(members.map((member) => member.name)).toEqual(
      keys.flatMap((key) => [`${key}.jpg`, `${key}.txt`, `${key}.json`]),
    );
    const file = (name: string) => Buffer.from(members.find((member) => member.name === name)!.hex, 'hex');
    expect(file(`${keys[0]}.jpg`).equals(await store.get(samples[1]!.jpegKey))).toBe(true);
    expect(file(`${keys[1]}.txt`).toString()).toBe('Glands with crowded hyperchromatic nuclei.');
    const metadata = JSON.parse(file(`${keys[1]}.json`).toString()) as Record<string, unknown>;
    expect(metadata).toEqual({
      key: keys[1],
      slideId: coad,
      project: 'TCGA-COAD',
      x: 672,
      y: 1344,
      level: 0,
      mpp: 0.2527,
      slide: `slides/${coad}.svs`,
      size: 672,
      wsiId: `${coad}.wsi`,
      fileId: 'file-coad',
      runId,
      description: 'description 1',
      revised: 'revised 1',
      edits: { added: 1, deleted: 0, modified: 2 },
      backends: { describe: 'builtin', revise: 'builtin', summarize: 'builtin' },
      models: { describe: 'builtin' },
      promptVersions: { describe: 'describe/1' },
      usage: { calls: 3 },
      tokens: 12,
      shortened: 'no',
    });

    const card = await publishedJson<DatasetCardJson>(pointer.files.cardJson);
    expect(card.failures).toEqual([
      { reason: 'ModelOutputInvalid', count: 1 },
      { reason: 'SlideUnreadable', count: 1 },
    ]);
    expect(card.statistics.captionTokens?.max).toBe(8);
    const released = await publishedJson<PathgenJsonRecord[]>(pointer.files.pathgenJson!);
    expect(released).toEqual([
      {
        wsi_id: `${coad}.wsi`,
        position: ['0', '0'],
        caption: 'Desmoplastic stroma around an infiltrating gland.',
        file_id: 'file-coad',
      },
      {
        wsi_id: `${coad}.wsi`,
        position: ['672', '1344'],
        caption: 'Glands with crowded hyperchromatic nuclei.',
        file_id: 'file-coad',
      },
    ]);
  });

  it('publishes a re-export as a new version, and a retried export writes nothing', async () => {
    // A rerun revised one caption.
    await store.put(
      `runs/${runId}/records/${coad}/0_0.json`,
      Buffer.from(JSON.stringify(agentRecord('Revised: stroma with an infiltrating gland.', 2))),
    );
    const second = await exportRun({ runId, version: 'v2', samplesPerShard: 1 });
    expect(second).toMatchObject({ version: 'v2', samples: 2, written: true });
    const pointer = (await readExportPointer(store, `exports/${runId}`))!;
    expect(pointer).toMatchObject({ version: 'v2', previousVersions: ['v1'] });
    const released = await publishedJson<PathgenJsonRecord[]>(pointer.files.pathgenJson!);
    expect(released[0]?.caption).toBe('Revised: stroma with an infiltrating gland.');

    store.puts = [];
    const retried = await exportRun({ runId, version: 'v2', samplesPerShard: 1 });
    expect(store.puts).toEqual([]);
    expect(retried).toEqual({ ...second, written: false });
  });

  it('orders samples of slides whose keys interleave, and counts captioned samples with missing pieces', async () => {
    const run = 'run-b';
    // Keys s_100_0 < s_1_5_5 < s_2_0: slide "s_1" sits between two samples of slide "s".
    const s = [
      await captioned(run, 's', 100, 0, { caption: 'one' }),
      await captioned(run, 's', 2, 0, { caption: 'two' }),
    ];
    const s1 = [
      await captioned(run, 's_1', 5, 5, { caption: 'three' }),
      await captioned(run, 's_1', 7, 7, { ok: false, failure: { code: 'Refused' } }),
      { ...(await captioned(run, 's_1', 9, 9, { caption: 'four' })), jpegKey: `runs/${run}/nowhere.jpg` },
      { ...(await captioned(run, 's_1', 11, 11, { caption: 'five' })), recordKey: `runs/${run}/nowhere.json` },
    ];
    await putSlideRecord(slideRecord(run, 's', { samples: s }));
    await putSlideRecord(slideRecord(run, 's_1', { samples: s1 }));
    await putSlideRecord(slideRecord(run, 't', { status: 'failed', reason: 'NoTissue' }));

    const result = await exportRun({ runId: run, version: 'v1', formats: { csv: false } });
    expect(result).toMatchObject({
      samples: 3,
      shards: 1,
      slides: 3,
      failedSlides: 1,
      failures: { CaptionMissing: 1, CaptionRecordMissing: 1, NoTissue: 1, PatchImageMissing: 1 },
    });
    const pointer = (await readExportPointer(store, `exports/${run}`))!;
    const [members] = await pythonTarMembers(shardFiles(pointer));
    expect(members!.filter((m) => m.name.endsWith('.txt')).map((m) => m.name)).toEqual([
      's_100_0.txt',
      's_1_5_5.txt',
      's_2_0.txt',
    ]);
    expect(await store.exists(`${pointer.prefix}captions.tsv`)).toBe(false);
  });

  it('refuses a slide record that belongs to another slide, naming it', async () => {
    const run = 'run-c';
    await store.put(runKeys.slideRecord(run, 'a'), Buffer.from(JSON.stringify(slideRecord(run, 'b', {}))));
    const failure = await exportRun({ runId: run, version: 'v1' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect((failure as Error).message).toContain(runKeys.slideRecord(run, 'a'));
    expect(await readExportPointer(store, `exports/${run}`)).toBeUndefined();
  });
});
