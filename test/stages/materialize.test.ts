import { ApplicationFailure } from '@temporalio/common';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExportPointer } from '../../activities/export/index.js';
import type { PathgenJsonRecord } from '../../activities/export/index.js';
import { createExportActivities } from '../../activities/stages/export.js';
import { createMaterializeActivities } from '../../activities/stages/materialize.js';
import type { MaterializeHeartbeat, MaterializeSlideInput } from '../../activities/stages/materialize.js';
import { runKeys } from '../../activities/contracts/keys.js';
import type { SlideRecord } from '../../activities/contracts/slide-record.js';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { readCandidate } from '../../activities/wsi/patch-reading.js';
import {
  comparePixels,
  findOpenSlidePython,
  openSlideRegions,
  openSlideSkipReason,
  requirePython,
} from '../../infra/harness/openslide-reference.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import type { SyntheticSlide } from '../../workers/synthetic/slides/synthetic-slides.js';
import { activityEnvironment, CountingStore, runActivity } from './activity-harness.js';

const python = await findOpenSlidePython();

const runId = 'materialize-1';
const wsi = {
  a: 'TCGA-AA-3844-01Z-00-DX1.bf88ce1f-0601-40c8-813e-4e3df51bd2f0',
  b: 'TCGA-55-8621-01Z-00-DX1.7c519007-1c2f-4c8e-9b8a-2f4c7f0d6a11',
  gone: 'TCGA-ZZ-0001-01Z-00-DX1.00000000-0000-0000-0000-000000000000',
};

let dir: string;
let store: CountingStore;
let slideA: SyntheticSlide;
let slideB: SyntheticSlide;
let pathgenJson: string;
let lookup: string;

interface Released {
  wsi_id: string;
  position: [string, string];
  caption: string;
  file_id: string;
}

const positionsA: Array<[number, number]> = [
  [1000, 800],
  [1672, 800],
  [1000, 1472],
  [2500, 0], // 2500 + 672 > 3000: outside
];
const positionsB: Array<[number, number]> = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => [
  200 + (i % 3) * 672,
  300 + Math.floor(i / 3) * 450,
]);
const records: Released[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-materialize-run-'));
  store = new CountingStore({ root: path.join(dir, 'store') });
  slideA = await writeSyntheticSvs(path.join(dir, 'a.svs'), { width: 3000, height: 2400, seed: 31 });
  slideB = await writeSyntheticSvs(path.join(dir, 'b.svs'), { width: 2600, height: 2000, seed: 32 });
  const record = (wsiId: string, [x, y]: [number, number], caption: string): Released => ({
    wsi_id: wsiId,
    position: [String(x), String(y)],
    caption,
    file_id: `file-${wsiId.slice(5, 12)}`,
  });
  // Slides interleaved, as in the released file; one repeated position, one unknown wsi_id.
  for (let i = 0; i < positionsB.length; i++) {
    const a = positionsA[i];
    if (a !== undefined) records.push(record(wsi.a, a, `Colon tissue ${i}: glands with crowded nuclei.`));
    records.push(record(wsi.b, positionsB[i]!, `Lung tissue ${i}: alveoli lined by atypical cells.`));
  }
  records.push(record(wsi.a, positionsA[0]!, 'A second caption for a position already listed.'));
  records.push(record('TCGA-XX-unknown', [0, 0], 'A slide the lab does not have.'));
  records.push(record(wsi.gone, [0, 0], 'A slide whose file is missing.'));
  pathgenJson = path.join(dir, 'pathgen.json');
  await writeFile(pathgenJson, JSON.stringify(records, null, 1));
  lookup = path.join(dir, 'lookup.jsonl');
  await writeFile(
    lookup,
    [
      { wsi_id: wsi.a, slide: slideA.path, project: 'COAD' },
      { wsi_id: wsi.b, slide: slideB.path, project: 'LUAD' },
      { wsi_id: wsi.gone, slide: path.join(dir, 'gone.svs') },
    ]
      .map((line) => JSON.stringify(line))
      .join('\n'),
  );
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const activities = () =>
  createMaterializeActivities({ store, slideCacheDir: path.join(dir, 'cache'), slideCacheMaxBytes: 2 ** 30 });

function slideInput(wsiId: string, slide: string, project?: string): MaterializeSlideInput {
  return { runId, slideId: wsiId, slide, wsiId, ...(project !== undefined ? { project } : {}) };
}

async function readRecord(slideId: string): Promise<SlideRecord> {
  return JSON.parse((await store.get(runKeys.slideRecord(runId, slideId))).toString()) as SlideRecord;
}

describe('materialize mode', () => {
  it('groups the released records by slide, counting records it cannot place', async () => {
    const grouped = await runActivity(activities().groupMaterializeInput, { runId, pathgenJson, lookup });
    expect(grouped).toMatchObject({
      records: records.length,
      groupedRecords: records.length - 1,
      slides: 3,
      errorCounts: { InvalidJson: 0, InvalidRecord: 0, UnknownWsiId: 1 },
      lookupSlides: 3,
      lookupErrors: 0,
      slidesKey: `runs/${runId}/materialize/slides.jsonl`,
      reused: false,
    });
    expect(grouped.errors).toMatchObject([{ reason: 'UnknownWsiId', wsiId: 'TCGA-XX-unknown' }]);

    store.puts = [];
    const again = await runActivity(activities().groupMaterializeInput, { runId, pathgenJson, lookup });
    expect(again).toEqual({ ...grouped, reused: true });
    expect(store.puts).toEqual([]);

    const other = await runActivity(activities().groupMaterializeInput, {
      runId,
      pathgenJson: lookup,
      lookup,
    }).catch((error: unknown) => error);
    expect(other).toBeInstanceOf(ApplicationFailure);
    expect(other).toMatchObject({ type: 'InvalidInput' });
  });

  it('pages the slides with a cursor', async () => {
    const first = await runActivity(activities().readMaterializeSlides, { runId, limit: 2 });
    expect(first.slides).toEqual([
      { slideId: wsi.b, slide: slideB.path, wsiId: wsi.b, project: 'TCGA-LUAD', patches: 8 },
      { slideId: wsi.a, slide: slideA.path, wsiId: wsi.a, project: 'TCGA-COAD', patches: 5 },
    ]);
    expect(first.next).toBeDefined();
    const second = await runActivity(activities().readMaterializeSlides, { runId, cursor: first.next!, limit: 2 });
    expect(second).toEqual({
      slides: [{ slideId: wsi.gone, slide: path.join(dir, 'gone.svs'), wsiId: wsi.gone, patches: 1 }],
    });
  });

  it('crops the listed positions, a position outside the slide being a failed sample', async () => {
    const result = await runActivity(activities().materializeSlide, slideInput(wsi.a, slideA.path, 'TCGA-COAD'));
    expect(result).toMatchObject({
      status: 'completed',
      counts: { positions: 4, written: 3, failed: 1, reused: 0, duplicates: 1 },
      failures: { PositionOutsideSlide: 1, DuplicatePosition: 1 },
      reused: false,
    });
    const record = await readRecord(wsi.a);
    expect(record).toMatchObject({ status: 'completed', wsiId: wsi.a, fileId: 'file-AA-3844', project: 'TCGA-COAD' });
    expect(record.samples.map((sample) => [sample.x, sample.y, sample.recordKey !== undefined])).toEqual(
      positionsA.map(([x, y], i) => [x, y, i < 3]),
    );
    expect(record.samples[3]?.failure?.code).toBe('PositionOutsideSlide');
    const caption = JSON.parse((await store.get(record.samples[0]!.recordKey!)).toString()) as unknown;
    expect(caption).toEqual({ caption: 'Colon tissue 0: glands with crowded nuclei.', source: 'pathgen-json' });
    const jpeg = await sharp(await store.get(record.samples[1]!.jpegKey)).metadata();
    expect([jpeg.format, jpeg.width, jpeg.height, jpeg.chromaSubsampling]).toEqual(['jpeg', 672, 672, '4:4:4']);

    store.puts = [];
    const again = await runActivity(activities().materializeSlide, slideInput(wsi.a, slideA.path, 'TCGA-COAD'));
    expect(again).toMatchObject({ counts: result.counts, reused: true });
    expect(store.puts).toEqual([]);
  });

  it.skipIf(openSlideSkipReason(python))('cuts the crops OpenSlide reads at the released positions', async () => {
    const record = await readRecord(wsi.a);
    const written = record.samples.filter((sample) => sample.recordKey !== undefined);
    const regions = written.map(({ x, y }) => ({ level: 0, x, y, width: 672, height: 672 }));
    const reference = await openSlideRegions(requirePython(python), slideA.path, regions);
    const reader = await openSlide(slideA.path);
    try {
      for (const [i, sample] of written.entries()) {
        const expected = reference[i]!;
        const raw = await readCandidate(reader, { ...regions[i]!, tissue: 1 });
        const decoded = await sharp(await store.get(sample.jpegKey))
          .raw()
          .toBuffer();
        const rawDifference = comparePixels(Buffer.from(raw.data), expected);
        const jpegDifference = comparePixels(decoded, expected);
        // Our reader's pixels are OpenSlide's exactly; the stored JPEG (quality 95, 4:4:4) measured
        // 0.3–1.4 mean absolute difference per channel (max 20, at sharp edges) on these crops.
        expect(rawDifference).toEqual({ meanAbsolute: 0, maximum: 0, coverageMismatches: 0 });
        expect(jpegDifference.meanAbsolute).toBeLessThan(2);
        expect(jpegDifference.coverageMismatches).toBe(0);
      }
    } finally {
      await reader.close();
    }
  });

  it('resumes a cancelled slide, writing only what the first attempt had not', async () => {
    const first = activityEnvironment();
    const heartbeats: MaterializeHeartbeat[] = [];
    first.on('heartbeat', (details: MaterializeHeartbeat) => {
      heartbeats.push(details);
      if (details.phase === 'patches' && details.written === 3) first.cancel();
    });
    const cancelled = await first
      .run(activities().materializeSlide, slideInput(wsi.b, slideB.path))
      .catch((error: unknown) => error);
    expect(cancelled).toMatchObject({ name: 'CancelledFailure' });
    expect(await store.exists(runKeys.slideRecord(runId, wsi.b))).toBe(false);
    const crops = (await store.listPage(`runs/${runId}/materialize/patches/${wsi.b}/`)).objects.filter((object) =>
      object.key.endsWith('.jpg'),
    );
    expect(crops).toHaveLength(3);

    // The server keeps heartbeats throttled: the retry sees an older cursor (2 done) and finds the third in the store.
    const recorded = heartbeats.find((details) => details.phase === 'patches' && details.written === 2);
    store.puts = [];
    const resumed = await runActivity(activities().materializeSlide, slideInput(wsi.b, slideB.path), {
      heartbeatDetails: recorded,
    });
    expect(resumed.counts).toEqual({ positions: 8, written: 8, failed: 0, reused: 3, duplicates: 0 });
    expect(store.puts).toHaveLength(5 * 2 + 1);
    expect(store.puts.filter((key) => crops.some((crop) => crop.key === key))).toEqual([]);
    expect(store.puts.at(-1)).toBe(runKeys.slideRecord(runId, wsi.b));
  });

  it('throws the typed slide failure for a slide file that is missing', async () => {
    const failure = await runActivity(
      activities().materializeSlide,
      slideInput(wsi.gone, path.join(dir, 'gone.svs')),
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'SlideNotFound', nonRetryable: true });
    expect(await store.exists(runKeys.slideRecord(runId, wsi.gone))).toBe(false);
  });

  it('exports a PathGen JSON equal to the input records it could materialize', async () => {
    const { exportRun } = createExportActivities({ store });
    const result = await runActivity(exportRun, {
      runId,
      version: 'v1',
      createdAt: '2025-03-01T00:00:00.000Z',
      additionalFailures: { UnknownWsiId: 1, DuplicatePosition: 1 },
    });
    expect(result).toMatchObject({
      samples: 11,
      slides: 2,
      failedSlides: 0,
      failures: { DuplicatePosition: 1, PositionOutsideSlide: 1, UnknownWsiId: 1 },
    });
    const pointer = (await readExportPointer(store, `exports/${runId}`))!;
    const exported = JSON.parse((await store.get(pointer.files.pathgenJson!)).toString()) as PathgenJsonRecord[];
    const seen = new Set<string>();
    const expected = records.filter((record) => {
      const id = `${record.wsi_id} ${record.position.join(',')}`;
      const placed = record.wsi_id === wsi.a || record.wsi_id === wsi.b;
      const inside = Number(record.position[0]) + 672 <= (record.wsi_id === wsi.a ? slideA.width : slideB.width);
      if (!placed || !inside || seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    const order = (list: Released[]) =>
      [...list].sort((p, q) =>
        `${p.wsi_id} ${p.position.join(',')}`.localeCompare(`${q.wsi_id} ${q.position.join(',')}`),
      );
    expect(order(exported)).toEqual(order(expected));
  });
});
