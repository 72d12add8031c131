import { WorkflowFailedError } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPathgenError } from '../../activities/common/errors.js';
import type { TilingOptions } from '../../activities/contracts/run-settings.js';
import type { TileSlideInput } from '../../activities/stages/tile.js';
import { stageFolderFromStore } from '../../activities/staging/slide-folder-cache.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import type { S3ObjectStore } from '../../activities/store/s3-store.js';
import { tileSlideToDirectory } from '../../activities/wsi/tissue-patch-plan.js';
import { runWorkers } from '../../workers/run-workers.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import type { pathgenTile } from '../../workflows/tile.js';
import { newMinioStore } from '../helpers/minio-store.js';
import { connectTestClient, testWorkerConfig, uniqueQueues } from '../helpers/temporal.js';
import { writeDicomWsiFrom, type DicomWsi } from '../wsi/dicom-wsi-fixture.js';

// A DICOM series uploaded to a real MinIO as a folder of objects (`slides/<id>/<instance>.dcm`)
// and tiled through pathgenTile on a real worker: the worker stages the folder into its slide
// cache, file by file, and must tile exactly what tiling the local folder gives. The worker's
// store counts its GETs per key, which is how "not downloaded again" is observed.

const tiling: TilingOptions = {
  patchSize: 224,
  level: 0,
  minTissueFraction: 0.5,
  thumbnailDownsample: 32,
  seed: 0,
  writePatches: false,
};
const planOptions = { patchSize: 224, level: 0, minTissueFraction: 0.5, maskDownsample: 32, seed: 0 };

/**
 * The store with its GETs counted per key (ranged reads included), and `beforeGet`, which a test
 * sets to change MinIO just before one of the worker's GETs.
 */
function instrumented(store: ObjectStore) {
  const gets = new Map<string, number>();
  const hooks: { beforeGet?: (key: string) => Promise<void> } = {};
  const view = Object.create(store) as ObjectStore;
  view.getStream = async (key, range) => {
    gets.set(key, (gets.get(key) ?? 0) + 1);
    await hooks.beforeGet?.(key);
    return store.getStream(key, range);
  };
  return { store: view, gets, hooks };
}

const getsUnder = (gets: Map<string, number>, prefix: string) =>
  [...gets].filter(([key]) => key.startsWith(prefix)).reduce((sum, [, count]) => sum + count, 0);

async function upload(store: ObjectStore, prefix: string, files: string[]): Promise<void> {
  for (const file of files) await store.put(`${prefix}${basename(file)}`, await readFile(file));
}

let dir: string;
let series: DicomWsi;
/** The same slide geometry and UIDs with other pixels: its level-2.dcm is a valid new version of ours. */
let otherSeries: DicomWsi;
let s3: S3ObjectStore;
let counted: ReturnType<typeof instrumented>;
let stop!: () => void;
let workers: Promise<void>;
const queues = uniqueQueues('dicom-folder');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-dicom-folder-'));
  const [svs, otherSvs] = await Promise.all([
    writeSyntheticSvs(join(dir, 'slide.svs'), { width: 2000, height: 1500, seed: 81, blobs: 3 }),
    writeSyntheticSvs(join(dir, 'other.svs'), { width: 2000, height: 1500, seed: 83, blobs: 3 }),
  ]);
  [series, otherSeries] = await Promise.all([
    writeDicomWsiFrom(svs.path, join(dir, 'series')),
    writeDicomWsiFrom(otherSvs.path, join(dir, 'other-series')),
  ]);
  s3 = await newMinioStore('dicom-folder');
  counted = instrumented(s3);
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  // The MinIO store is handed to the worker directly; the config's fs store is not used.
  workers = runWorkers({ config: testWorkerConfig(queues, dir), roles: ['cpu'], store: counted.store, until: stopped });
}, 90_000);

afterAll(async () => {
  stop?.();
  await workers;
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function runTile(input: TileSlideInput) {
  return (await runTileWithHistory(input)).result;
}

/** The workflow's result and the tile activity's last start event (its attempt and the failure before it). */
async function runTileWithHistory(input: TileSlideInput) {
  const { client, connection } = await connectTestClient();
  try {
    const handle = await client.workflow.start<typeof pathgenTile>('pathgenTile', {
      taskQueue: queues.cpu,
      workflowId: `tile-dicom-folder-${randomUUID()}`,
      args: [input],
    });
    const result = await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    const started = events.find((event) => event.activityTaskStartedEventAttributes);
    return { result, started: started?.activityTaskStartedEventAttributes };
  } finally {
    await connection.close();
  }
}

/** A local copy of our series with `member` replaced by the other series' file of that name. */
async function localWithMemberOf(other: DicomWsi, member: string): Promise<string> {
  const local = join(dir, `changed-${randomUUID().slice(0, 8)}`);
  await cp(series.dir, local, { recursive: true });
  await cp(join(other.dir, member), join(local, member));
  return local;
}

/** candidates.jsonl of tiling a local slide directly, without Temporal or the store. */
async function localCandidates(slide: string): Promise<string> {
  const out = join(dir, `local-${randomUUID().slice(0, 8)}`);
  await tileSlideToDirectory(slide, out, planOptions);
  return readFile(join(out, 'candidates.jsonl'), 'utf8');
}

const stagedFolders = async () =>
  (await readdir(join(dir, 'cache', 'slides'))).map((name) => join(dir, 'cache', 'slides', name));

describe('a DICOM series folder in MinIO through pathgenTile', () => {
  const prefix = 'slides/series-1/';

  it('stages the folder into the slide cache once, tiles it as the local folder, and re-stages a changed member', async () => {
    await upload(s3, prefix, series.files);
    const first = await runTile({ slideId: 'series-1', slide: 'slides/series-1', tiling, outputPrefix: 'tiles/first' });
    expect(first.reused).toBe(false);
    expect(first.candidates).toBeGreaterThan(0);
    const expected = await localCandidates(series.dir);
    expect((await s3.get(first.keys.candidates)).toString()).toBe(expected);

    const [staged] = await stagedFolders();
    expect(await stagedFolders()).toHaveLength(1);
    const names = series.files.map((file) => basename(file)).sort();
    expect((await readdir(staged!)).sort()).toEqual(['.staged', ...names].sort());
    for (const file of series.files)
      expect((await readFile(join(staged!, basename(file)))).equals(await readFile(file)), file).toBe(true);
    expect(getsUnder(counted.gets, prefix)).toBe(series.files.length);
    const mtimes = await Promise.all(names.map(async (name) => (await stat(join(staged!, name))).mtimeMs));

    // Unchanged in the store: tiled again (another output prefix) from the cache, no GET of a member.
    const again = await runTile({ slideId: 'series-1', slide: 'slides/series-1', tiling, outputPrefix: 'tiles/again' });
    expect(again).toEqual({ ...first, prefix: 'tiles/again', keys: expect.any(Object) });
    expect(getsUnder(counted.gets, prefix)).toBe(series.files.length);
    expect(await stagedFolders()).toEqual([staged]);
    expect(await Promise.all(names.map(async (name) => (await stat(join(staged!, name))).mtimeMs))).toEqual(mtimes);

    // One member overwritten in MinIO: the cache notices and stages the folder again, whole.
    const changed = join(otherSeries.dir, 'level-2.dcm');
    await s3.put(`${prefix}level-2.dcm`, await readFile(changed));
    const local = await localWithMemberOf(otherSeries, 'level-2.dcm');
    const third = await runTile({
      slideId: 'series-1',
      slide: 'slides/series-1',
      tiling,
      outputPrefix: 'tiles/changed',
    });
    const changedCandidates = (await s3.get(third.keys.candidates)).toString();
    expect(changedCandidates).toBe(await localCandidates(local));
    expect(changedCandidates).not.toBe(expected);
    expect(getsUnder(counted.gets, prefix)).toBe(2 * series.files.length);
    const folders = await stagedFolders();
    expect(folders).toHaveLength(2);
    const restaged = folders.find((folder) => folder !== staged)!;
    expect((await readFile(join(restaged, 'level-2.dcm'))).equals(await readFile(changed))).toBe(true);
  });

  it('a member overwritten while the worker stages the folder: SlideChanged, and the retry tiles the new series', async () => {
    const moving = 'slides/series-moving/';
    await upload(s3, moving, series.files);
    // Listed in key order, level-1.dcm is fetched before level-2.dcm: level-2.dcm changes in between.
    counted.hooks.beforeGet = async (key) => {
      if (key !== `${moving}level-1.dcm`) return;
      delete counted.hooks.beforeGet;
      await s3.put(`${moving}level-2.dcm`, await readFile(join(otherSeries.dir, 'level-2.dcm')));
    };
    const { result, started } = await runTileWithHistory({ slideId: 'series-moving', slide: moving, tiling });
    expect(started?.attempt).toBe(2);
    expect(started?.lastFailure?.applicationFailureInfo?.type).toBe('SlideChanged');
    const local = await localWithMemberOf(otherSeries, 'level-2.dcm');
    expect((await s3.get(result.keys.candidates)).toString()).toBe(await localCandidates(local));
  });

  it('a truncated member in the store ends the slide with a typed, non-retryable failure', async () => {
    const broken = 'slides/series-truncated/';
    await upload(s3, broken, series.files);
    const level2 = await readFile(series.files.find((file) => basename(file) === 'level-2.dcm')!);
    await s3.put(`${broken}level-2.dcm`, level2.subarray(0, Math.floor(level2.length / 2)));
    const failure = await runTile({ slideId: 'series-truncated', slide: broken, tiling }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause?.cause as
      { type?: string; nonRetryable?: boolean } | undefined;
    expect(cause).toMatchObject({ type: 'SlideUnreadable', nonRetryable: true });
  });
});

/** The store, with `change` made to MinIO just before the first GET that `when` picks. */
function changingMidStage(
  store: ObjectStore,
  when: (key: string, start: number) => boolean,
  change: () => Promise<unknown>,
): ObjectStore {
  let changed = false;
  const view = Object.create(store) as ObjectStore;
  view.getStream = async (key, range) => {
    if (!changed && when(key, range?.start ?? 0)) {
      changed = true;
      await change();
    }
    return store.getStream(key, range);
  };
  return view;
}

describe('a series folder that changes in MinIO while it is staged', () => {
  const atLevel0Chunk2 = (prefix: string) => (key: string, start: number) =>
    key === `${prefix}level-0.dcm` && start > 0;
  const cases: [string, (prefix: string, level0: Buffer) => ObjectStore][] = [
    [
      'a member overwritten between two of its chunks',
      (prefix, level0) => {
        const edited = Buffer.from(level0);
        edited[200] = edited[200]! ^ 0xff;
        return changingMidStage(s3, atLevel0Chunk2(prefix), () => s3.put(`${prefix}level-0.dcm`, edited));
      },
    ],
    [
      'a member truncated between two of its chunks',
      (prefix, level0) =>
        changingMidStage(s3, atLevel0Chunk2(prefix), () => s3.put(`${prefix}level-0.dcm`, level0.subarray(0, 1000))),
    ],
    [
      'a member deleted before it is fetched',
      (prefix) =>
        changingMidStage(
          s3,
          () => true,
          () => s3.delete(`${prefix}thumbnail.dcm`),
        ),
    ],
    [
      'a member added',
      (prefix) =>
        changingMidStage(
          s3,
          () => true,
          () => s3.put(`${prefix}extra.dcm`, Buffer.from('extra')),
        ),
    ],
  ];

  for (const [name, makeStore] of cases) {
    it(`${name}: SlideChanged, no copy left behind, and the next staging gets the store's current folder`, async () => {
      const id = randomUUID().slice(0, 8);
      const prefix = `slides/changing-${id}/`;
      await upload(s3, prefix, series.files);
      const cache = join(dir, `changing-cache-${id}`);
      const options = { dir: cache, maxBytes: 1e9, chunkBytes: 64 * 1024 };
      const failure = await stageFolderFromStore(prefix.slice(0, -1), {
        ...options,
        store: makeStore(prefix, await readFile(join(series.dir, 'level-0.dcm'))),
      }).catch((error: unknown) => error);
      expect(isPathgenError(failure) && failure.code, String(failure)).toBe('SlideChanged');
      expect(await readdir(cache)).toEqual([]);

      const staged = await stageFolderFromStore(prefix.slice(0, -1), { ...options, store: s3 });
      expect(staged?.downloaded).toBe(true);
      const inStore = (await s3.listPage(prefix)).objects.map((object) => object.key);
      expect((await readdir(staged!.path)).sort()).toEqual(['.staged', ...inStore.map((key) => basename(key))].sort());
      for (const key of inStore)
        expect((await readFile(join(staged!.path, basename(key)))).equals(await s3.get(key)), key).toBe(true);
    });
  }
});
