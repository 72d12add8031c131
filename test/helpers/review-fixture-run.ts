import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { agentKeys, exportKeys, runKeys, selectKeys, tileKeys } from '../../activities/contracts/keys.js';
import type { SlideRecord } from '../../activities/contracts/slide-record.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import type { ObjectStore } from '../../activities/store/object-store.js';

// A small run laid out exactly as the stages write it (keys from keys.ts, the records' shapes),
// without running the pipeline: two captioned slides, one failed slide, and an export. Fast enough
// for every unit test of the review app; the demo itself is what a person checks it on.

export const fixtureRunId = 'fx-run';
const patchSize = 672;
const scale = 32;

async function png(width: number, height: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
}

async function jpeg(rgb: [number, number, number]): Promise<Buffer> {
  return sharp({
    create: { width: patchSize, height: patchSize, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } },
  })
    .jpeg()
    .toBuffer();
}

const put = (store: ObjectStore, key: string, value: unknown) =>
  store.put(key, Buffer.from(`${JSON.stringify(value)}\n`));

async function writeCompletedSlide(store: ObjectStore, slideId: string, project: string, caption: string) {
  const tile = tileKeys.prefix(slideId, 'a1b2c3');
  const select = selectKeys.prefix(slideId, 'd4e5f6');
  const agents = runKeys.agents(fixtureRunId, slideId, select);
  const [width, height] = [patchSize * 5, patchSize * 4];
  await store.put(tileKeys.thumbnail(tile), await png(width / scale, height / scale, [230, 200, 220]));
  await put(store, tileKeys.metadata(tile), {
    slideId,
    slide: { levels: [{ width, height, downsample: 1 }] },
    tissue: { tissueFraction: 0.4, maskWidth: width / scale, maskHeight: height / scale, scaleX: scale, scaleY: scale },
  });
  const cells = [
    [1, 1],
    [2, 1],
    [1, 2],
    [3, 2],
  ].map(([cx, cy]) => ({ x: cx! * patchSize, y: cy! * patchSize, level: 0, width: patchSize, height: patchSize }));
  await store.put(
    tileKeys.candidates(tile),
    Buffer.from(cells.map((cell) => JSON.stringify({ ...cell, tissue: 0.9 })).join('\n') + '\n'),
  );
  const selected = cells.slice(0, 2);
  await store.put(
    selectKeys.selection(select),
    Buffer.from(
      selected
        .map((cell, index) =>
          JSON.stringify({
            ...cell,
            priority: index + 1,
            routes: ['quality', 'cluster'],
            cluster: index,
            scores: { quality: 0.9 - index / 10, attributeMax: null },
          }),
        )
        .join('\n') + '\n',
    ),
  );
  const samples: SlideRecord['samples'] = [];
  for (const cell of selected) {
    const id = `${cell.x}_${cell.y}`;
    await store.put(selectKeys.patch(select, id), await jpeg([200, 120, 170]));
    const description = 'Tumour cells with prominent nucleoli form glands. Mitotic figures are present.';
    await put(store, agentKeys.stage(agents, 'describe', id), {
      ok: true,
      description,
      backend: 'builtin',
      model: 'builtin-describe',
      promptVersion: 'describe/1#aaa',
      usage: { calls: 1, promptTokens: 900 },
    });
    await put(store, agentKeys.stage(agents, 'revise', id), {
      ok: true,
      revised: 'Tumour cells with small nucleoli form glands. <b>Focal necrosis</b> is seen.',
      edits: { added: ['Focal necrosis is seen.'], deleted: ['Mitotic figures are present.'], modified: [] },
      backend: 'builtin',
      model: 'builtin-revise',
      promptVersion: 'revise/1#bbb',
      usage: { calls: 1, promptTokens: 800 },
    });
    const recordKey = agentKeys.stage(agents, 'summarize', id);
    await put(store, recordKey, {
      ok: true,
      caption,
      tokens: 17,
      shortened: 'none',
      backend: 'builtin',
      model: 'builtin-summarize',
      promptVersion: 'summarize/1#ccc',
      usage: { calls: 1, promptTokens: 200 },
    });
    samples.push({
      id,
      x: cell.x,
      y: cell.y,
      level: 0,
      size: patchSize,
      mpp: 0.25,
      jpegKey: selectKeys.patch(select, id),
      recordKey,
    });
  }
  const record: SlideRecord = {
    runId: fixtureRunId,
    slideId,
    slide: `/data/${slideId}.svs`,
    project,
    status: 'completed',
    counts: { candidates: cells.length, selected: selected.length, captioned: samples.length, failedPatches: 0 },
    failures: {},
    usage: { calls: 6, attempts: 6, cacheHits: 0, promptTokens: 3800, completionTokens: 300, latencyMs: 40 },
    samples,
    prefixes: { tile, select, agents },
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:05.000Z',
  };
  await put(store, runKeys.slideRecord(fixtureRunId, slideId), record);
  return samples.map((sample) => ({
    wsi_id: slideId,
    position: [String(sample.x), String(sample.y)],
    caption,
    file_id: '',
  }));
}

export async function writeReviewFixtureRun(): Promise<{ store: FsObjectStore; root: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'pathgen-review-'));
  const store = new FsObjectStore({ root });
  await writeReviewFixtureInto(store);
  return { store, root };
}

/** The fixture run written into any store (the S3 tests' MinIO bucket). */
export async function writeReviewFixtureInto(store: ObjectStore): Promise<void> {
  const rows = [
    ...(await writeCompletedSlide(
      store,
      'colon-1',
      'TCGA-COAD',
      'Atypical glands in desmoplastic stroma, adenocarcinoma of the colon.',
    )),
    ...(await writeCompletedSlide(
      store,
      'lung-2',
      'TCGA-LUAD',
      'Lepidic growth of atypical pneumocytes, lung adenocarcinoma.',
    )),
  ];
  const failed: SlideRecord = {
    runId: fixtureRunId,
    slideId: 'broken-3',
    slide: '/data/broken-3.svs',
    project: 'TCGA-LUAD',
    status: 'failed',
    reason: 'SlideUnreadable',
    message: 'not a TIFF file <script>alert(1)</script>',
    counts: {},
    failures: {},
    usage: { calls: 0, attempts: 0, cacheHits: 0, promptTokens: 0, completionTokens: 0, latencyMs: 0 },
    samples: [],
    prefixes: {},
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
  };
  await put(store, runKeys.slideRecord(fixtureRunId, 'broken-3'), failed);
  const exportPrefix = exportKeys.prefix(fixtureRunId);
  const version = 'v20260101T000010000Z';
  const versionPrefix = exportKeys.version(exportPrefix, version);
  await store.put(`${versionPrefix}pathgen.json`, Buffer.from(JSON.stringify(rows)));
  await put(store, exportKeys.pointer(exportPrefix), {
    format: 'pathgen-export/1',
    version,
    prefix: versionPrefix,
    createdAt: '2026-01-01T00:00:10.000Z',
    samples: rows.length,
    slides: 2,
    shards: 0,
    samplesPerShard: 1000,
    shardPattern: null,
    files: {
      pathgenJson: `${versionPrefix}pathgen.json`,
      card: `${versionPrefix}dataset-card.md`,
      cardJson: `${versionPrefix}dataset-card.json`,
    },
    previousVersions: ['v20251231T000000000Z'],
  });
}
