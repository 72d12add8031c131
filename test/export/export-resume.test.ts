import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exportDataset,
  readExportPointer,
  resumableCheckpoint,
  sampleKey,
  versionFiles,
} from '../../activities/export/index.js';
import type { ExportCheckpoint, ExportOptions, ExportSample } from '../../activities/export/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { listAll } from '../../activities/store/object-store.js';
import { jpegOf } from './export-samples.js';

// An export killed in the middle resumes from the checkpoint of its last finished shard and ends
// with the bytes of an uninterrupted export: every shard, the TSV, the PathGen JSON, the images,
// the card and the pointer. The resumed attempt reads no image of the shards it kept.

/** An fs store that records which input images were read. */
class ReadCountingStore extends FsObjectStore {
  imageReads: string[] = [];
  override async get(key: string): Promise<Buffer> {
    if (key.startsWith('inputs/')) this.imageReads.push(key);
    return await super.get(key);
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-export-resume-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const createdAt = '2025-06-07T08:09:10.000Z';
const exportPrefix = 'exports/resume';
const sampleCount = 237;
const perShard = 10;

// Slides "s" and "s_1" interleave in key order ("s_1_9" of slide s sorts among s_1's keys): the
// statistics must count each once across a resume.
const slides = [
  { slideId: 'TCGA-AA-3844-01Z-00-DX1.bf88ce1f', project: 'TCGA-COAD', fileId: 'file-a' },
  { slideId: 's', project: 'TCGA-LUAD', fileId: undefined },
  { slideId: 's_1', project: undefined, fileId: 'file-c' },
  { slideId: 'slide-z', project: 'TCGA-COAD', fileId: undefined },
];
const captions = [
  'Glandular epithelium with hyperchromatic nuclei.',
  'Tab\tinside, "quoted" words and a\nline break.',
  'Naïve µm-scale stroma, likely adenocarcinoma.',
  ' leading and trailing space ',
];

/** Samples whose images live in the store under inputs/, read only when the export asks. */
async function writeSamples(store: FsObjectStore): Promise<ExportSample[]> {
  const samples: ExportSample[] = [];
  for (let i = 0; i < sampleCount; i++) {
    const slide = slides[i % slides.length]!;
    const x = i % 7;
    const y = i;
    const key = sampleKey(slide.slideId, x, y);
    await store.put(`inputs/${key}.jpg`, await jpegOf(i));
    samples.push({
      key,
      slideId: slide.slideId,
      ...(slide.project === undefined ? {} : { project: slide.project }),
      x,
      y,
      level: 0,
      mpp: 0.25,
      caption: `${captions[i % captions.length]!}${' more'.repeat(i % 13)}`,
      jpeg: () => store.get(`inputs/${key}.jpg`),
      metadata: { n: i, ...(slide.fileId === undefined ? {} : { fileId: slide.fileId }) },
    });
  }
  return samples;
}

function options(store: FsObjectStore, extra: Partial<ExportOptions> = {}): ExportOptions {
  return {
    store,
    exportPrefix,
    version: 'v1',
    createdAt,
    samplesPerShard: perShard,
    failures: { NoTissue: 3 },
    countTokens: (text) => text.trim().split(/\s+/).length + 2,
    ...extra,
  };
}

/** Every object under the export prefix, by key. */
async function exportedObjects(store: FsObjectStore): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  for await (const object of listAll(store, `${exportPrefix}/`)) objects.set(object.key, await store.get(object.key));
  return objects;
}

describe('an export resumed from its checkpoint', () => {
  let reference: Map<string, Buffer>;

  beforeAll(async () => {
    const store = new FsObjectStore({ root: path.join(dir, 'reference') });
    await exportDataset(await writeSamples(store), options(store));
    reference = await exportedObjects(store);
  });

  it('writes what an uninterrupted export writes, with no text parts left', () => {
    const prefix = `${exportPrefix}/versions/v1/`;
    expect([...reference.keys()].filter((key) => !key.includes('/images/'))).toEqual([
      `${exportPrefix}/LATEST.json`,
      `${prefix}captions.tsv`,
      `${prefix}dataset-card.json`,
      `${prefix}dataset-card.md`,
      `${prefix}export.json`,
      `${prefix}pathgen.json`,
      ...Array.from({ length: 24 }, (_, i) => `${prefix}shards/shard-${String(i).padStart(6, '0')}.tar`),
    ]);
    expect([...reference.keys()].filter((key) => key.includes('/images/'))).toHaveLength(sampleCount);
    const card = JSON.parse(reference.get(`${prefix}dataset-card.json`)!.toString()) as {
      statistics: { samples: number; slides: number; projects: unknown[] };
    };
    expect(card.statistics).toMatchObject({
      samples: sampleCount,
      slides: 4,
      projects: [
        { project: 'TCGA-COAD', slides: 2, samples: 119 },
        { project: 'TCGA-LUAD', slides: 1, samples: 59 },
        { project: 'unknown', slides: 1, samples: 59 },
      ],
    });
  });

  // After the first shard, in the middle, and after the last full shard (only the partial one is left).
  it.each([1, 7, 23])('byte for byte, when cut after %i shards', async (cutAfter) => {
    const store = new ReadCountingStore({ root: path.join(dir, `cut-${cutAfter}`) });
    const samples = await writeSamples(store);
    const controller = new AbortController();
    const checkpoints: ExportCheckpoint[] = [];
    const cut = await exportDataset(
      samples,
      options(store, {
        signal: controller.signal,
        onCheckpoint: (checkpoint) => {
          // What a heartbeat carries: its JSON.
          checkpoints.push(JSON.parse(JSON.stringify(checkpoint)) as ExportCheckpoint);
          if (checkpoint.chunks === cutAfter) controller.abort(new Error('worker killed'));
        },
      }),
    ).catch((error: unknown) => error);
    expect(cut).toMatchObject({ message: 'worker killed' });
    expect(await readExportPointer(store, exportPrefix)).toBeUndefined();
    const last = checkpoints.at(-1)!;
    expect(last).toMatchObject({ chunks: cutAfter, samples: cutAfter * perShard, version: 'v1' });
    // Small and of a fixed shape: counts and histograms, no list of samples or slides.
    for (const checkpoint of checkpoints) expect(JSON.stringify(checkpoint).length).toBeLessThan(2048);

    const resumeFrom = await resumableCheckpoint(last, options(store));
    expect(resumeFrom).toEqual(last);
    store.imageReads = [];
    const resumed = await exportDataset(samples, options(store, { resumeFrom: resumeFrom! }));
    expect(resumed.written).toBe(true);

    const sortedKeys = samples.map((sample) => sample.key).sort();
    expect(store.imageReads.sort()).toEqual(sortedKeys.slice(cutAfter * perShard).map((key) => `inputs/${key}.jpg`));
    expect(last.lastKey).toBe(sortedKeys[cutAfter * perShard - 1]);
    const objects = await exportedObjects(store);
    expect([...objects.keys()]).toEqual([...reference.keys()]);
    for (const [key, bytes] of reference) expect(objects.get(key)?.equals(bytes), key).toBe(true);
  });

  it('from an older checkpoint than the last shard written (a throttled heartbeat), rewriting the shards after it', async () => {
    const store = new ReadCountingStore({ root: path.join(dir, 'older') });
    const samples = await writeSamples(store);
    const controller = new AbortController();
    const checkpoints: ExportCheckpoint[] = [];
    await exportDataset(
      samples,
      options(store, {
        signal: controller.signal,
        onCheckpoint: (checkpoint) => {
          checkpoints.push(JSON.parse(JSON.stringify(checkpoint)) as ExportCheckpoint);
          if (checkpoint.chunks === 9) controller.abort(new Error('worker killed'));
        },
      }),
    ).catch(() => undefined);
    const older = (await resumableCheckpoint(checkpoints[4], options(store)))!;
    expect(older.chunks).toBe(5);
    store.imageReads = [];
    await exportDataset(samples, options(store, { resumeFrom: older }));
    expect(store.imageReads).toHaveLength(sampleCount - 50);
    const objects = await exportedObjects(store);
    for (const [key, bytes] of reference) expect(objects.get(key)?.equals(bytes), key).toBe(true);
  });
});

describe('a checkpoint an export cannot use', () => {
  let store: FsObjectStore;
  let samples: ExportSample[];
  let checkpoint: ExportCheckpoint;

  beforeAll(async () => {
    store = new FsObjectStore({ root: path.join(dir, 'unusable') });
    samples = await writeSamples(store);
    const controller = new AbortController();
    await exportDataset(
      samples,
      options(store, {
        signal: controller.signal,
        onCheckpoint: (finished) => {
          checkpoint = JSON.parse(JSON.stringify(finished)) as ExportCheckpoint;
          if (finished.chunks === 3) controller.abort(new Error('worker killed'));
        },
      }),
    ).catch(() => undefined);
  });

  it('is one of another version or layout, of another shape, or one whose shards are gone', async () => {
    expect(await resumableCheckpoint(checkpoint, options(store))).toEqual(checkpoint);
    expect(await resumableCheckpoint(checkpoint, options(store, { version: 'v2' }))).toBeUndefined();
    expect(await resumableCheckpoint(checkpoint, options(store, { samplesPerShard: 5 }))).toBeUndefined();
    expect(await resumableCheckpoint(checkpoint, options(store, { formats: { csv: false } }))).toBeUndefined();
    expect(await resumableCheckpoint(checkpoint, options(store, { tarMtime: 1 }))).toBeUndefined();
    expect(await resumableCheckpoint({ ...checkpoint, samples: 7 }, options(store))).toBeUndefined();
    expect(await resumableCheckpoint({ phase: 'listing' }, options(store))).toBeUndefined();
    expect(await resumableCheckpoint(undefined, options(store))).toBeUndefined();

    const files = versionFiles(`${exportPrefix}/versions/v1/`);
    await store.delete(`${files.parts}pathgen-000001.json`);
    expect(await resumableCheckpoint(checkpoint, options(store))).toBeUndefined();
  });

  it('is refused by exportDataset itself when it does not fit', async () => {
    await expect(exportDataset(samples, options(store, { version: 'v2', resumeFrom: checkpoint }))).rejects.toThrow(
      /does not fit version v2/,
    );
  });
});
