import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { sampleInOrder, seededRandom } from '../activities/common/seeded-random.js';
import { agentKeys, exportKeys, runKeys, selectKeys, tileKeys } from '../activities/contracts/keys.js';
import type { SampleRef, SlideRecord } from '../activities/contracts/slide-record.js';
import { forEachBounded } from '../activities/export/store-upload.js';
import { FsObjectStore } from '../activities/store/fs-store.js';
import type { ObjectStore } from '../activities/store/object-store.js';

// A finished run of N slides laid out as the pipeline leaves it (keys from keys.ts, records shaped
// as the stages write them), for bench/review-app.ts: slide records, thumbnails, tile metadata,
// candidates, selections, the three agent records of every captioned patch, and one export version
// whose pathgen.json holds every caption. No pipeline runs; what costs is only the writing, so
// images are encoded once and reused, and patch JPEGs exist only for the few slides that need them.

export interface ReviewRunOptions {
  runId?: string;
  slides: number;
  /** Selected patches per completed slide; a few of them fail at an agent and carry no caption. */
  samplesPerSlide: number;
  /** Tissue cells per slide, drawn by the slide page as SVG rectangles. */
  candidatesPerSlide: number;
  /** Share of slides that fail at the tile stage (NoTissue, SlideUnreadable). */
  failedShare?: number;
  /** Completed slides that also get their patch JPEGs. */
  imageSlides?: number;
  seed?: number;
}

export interface ReviewRun {
  runId: string;
  projects: string[];
  /** Slides per project. */
  projectSlides: Record<string, number>;
  /** Every slide, in id order. */
  slideIds: string[];
  completed: { slideId: string; patchIds: string[]; thumbnailKey: string }[];
  failed: string[];
  /** Completed slides whose patch JPEGs were written. */
  withImages: string[];
  captions: number;
  exportVersion: string;
  objects: number;
  bytes: number;
}

const patchSize = 672;
const thumbnailScale = 32;
const projects = ['TCGA-COAD', 'TCGA-LUAD'];
const vocabulary = {
  pattern: ['Atypical glands', 'Solid nests', 'Papillary fronds', 'Cribriform glands', 'Sheets', 'Trabeculae'],
  cells: ['of pleomorphic tumour cells', 'of columnar cells', 'of atypical pneumocytes', 'of signet-ring cells'],
  setting: [
    'in desmoplastic stroma',
    'with focal necrosis',
    'with extracellular mucin',
    'beside normal mucosa',
    'with dense lymphocytic inflammation',
    'with keratin pearls',
    'invading the muscularis propria',
    'with haemorrhage',
  ],
  diagnosis: [
    'adenocarcinoma of the colon',
    'lung adenocarcinoma',
    'squamous cell carcinoma',
    'mucinous adenocarcinoma',
    'tubular adenoma',
  ],
  nuclei: ['vesicular with prominent nucleoli', 'hyperchromatic', 'mildly enlarged', 'markedly pleomorphic'],
};
const palette: [number, number, number][] = [
  [230, 200, 220],
  [214, 170, 205],
  [238, 214, 226],
  [200, 150, 190],
];

type Write = (key: string, bytes: Buffer) => Promise<void>;

/**
 * On a filesystem store the fixture writes each object's file where the store reads it
 * (`localFile`), skipping the store's temp file, datasync and rename: those make a crash safe,
 * which a throwaway fixture does not need, and they cost ~0.4 ms an object, over a minute for a
 * run's two hundred thousand objects. Any other store gets its ordinary `put`.
 */
function writerFor(store: ObjectStore): Write {
  if (!(store instanceof FsObjectStore)) return async (key, bytes) => void (await store.put(key, bytes));
  const folders = new Map<string, Promise<unknown>>();
  return async (key, bytes) => {
    const file = store.localFile(key);
    const folder = path.dirname(file);
    let made = folders.get(folder);
    if (!made) folders.set(folder, (made = mkdir(folder, { recursive: true })));
    await made;
    await writeFile(file, bytes);
  };
}

const json = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value)}\n`);
const jsonLines = (rows: unknown[]): Buffer => Buffer.from(rows.map((row) => JSON.stringify(row)).join('\n') + '\n');

async function png(width: number, height: number, rgb: [number, number, number]): Promise<Buffer> {
  const background = { r: rgb[0], g: rgb[1], b: rgb[2] };
  return sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();
}

async function jpeg(): Promise<Buffer> {
  const background = { r: 200, g: 120, b: 170 };
  return sharp({ create: { width: patchSize, height: patchSize, channels: 3, background } })
    .jpeg()
    .toBuffer();
}

/** The slides' common geometry: a grid of cells, of which `count` are tissue (candidates). */
function tissueGrid(count: number, seed: number) {
  const columns = Math.max(4, Math.ceil(Math.sqrt(count * 2.5 * 1.3)));
  const rows = Math.max(4, Math.ceil((count * 2.5) / columns));
  const cells = Array.from({ length: columns * rows }, (_, i) => ({
    x: (i % columns) * patchSize,
    y: Math.floor(i / columns) * patchSize,
  }));
  const candidates = sampleInOrder(cells, Math.min(count, cells.length), seed).map((cell) => ({
    ...cell,
    level: 0,
    width: patchSize,
    height: patchSize,
  }));
  return { width: columns * patchSize, height: rows * patchSize, candidates };
}

const hex = (random: () => number, digits: number): string =>
  Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join('');

export async function writeReviewRun(store: ObjectStore, options: ReviewRunOptions): Promise<ReviewRun> {
  const runId = options.runId ?? 'bench-review';
  const seed = options.seed ?? 42;
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const write = writerFor(store);
  let [objects, bytes] = [0, 0];
  const put = async (key: string, body: Buffer) => {
    await write(key, body);
    objects++;
    bytes += body.length;
  };

  const grid = tissueGrid(options.candidatesPerSlide, seed);
  const [maskWidth, maskHeight] = [grid.width / thumbnailScale, grid.height / thumbnailScale];
  const thumbnails = await Promise.all(palette.map((rgb) => png(maskWidth, maskHeight, rgb)));
  const candidatesBytes = jsonLines(grid.candidates.map((cell) => ({ ...cell, tissue: 0.9 })));
  const metadataBytes = (slideId: string) =>
    json({
      slideId,
      slide: { levels: [{ width: grid.width, height: grid.height, downsample: 1 }] },
      tissue: { tissueFraction: 0.4, maskWidth, maskHeight, scaleX: thumbnailScale, scaleY: thumbnailScale },
    });
  const patchJpeg = await jpeg();

  const width = String(options.slides).length;
  const slides = Array.from({ length: options.slides }, (_, i) => {
    const failed = random() < (options.failedShare ?? 0.04);
    return {
      index: i,
      slideId: `slide-${String(i + 1).padStart(width, '0')}`,
      project: pick(projects),
      failure: failed ? pick(['NoTissue', 'SlideUnreadable'] as const) : undefined,
      tileHash: hex(random, 12),
      selectHash: hex(random, 12),
    };
  });
  const completedSlides = slides.filter((slide) => !slide.failure);
  const imageSlideIds = new Set(
    sampleInOrder(completedSlides, Math.min(options.imageSlides ?? 32, completedSlides.length), seed + 1).map(
      (slide) => slide.slideId,
    ),
  );

  const run: ReviewRun = {
    runId,
    projects,
    projectSlides: Object.fromEntries(projects.map((p) => [p, slides.filter((slide) => slide.project === p).length])),
    slideIds: slides.map((slide) => slide.slideId),
    completed: [],
    failed: slides.filter((slide) => slide.failure).map((slide) => slide.slideId),
    withImages: [...imageSlideIds].sort(),
    captions: 0,
    exportVersion: 'v20260101T120000000Z',
    objects: 0,
    bytes: 0,
  };
  // Export rows by slide index, so pathgen.json lists slides in id order as the export does.
  const exportRows: { wsi_id: string; position: [string, string]; caption: string; file_id: string }[][] = [];

  const startedAt = '2026-01-01T00:00:00.000Z';
  const baseRecord = (slide: (typeof slides)[number]) => ({
    runId,
    slideId: slide.slideId,
    slide: `/data/${slide.project}/${slide.slideId}.svs`,
    project: slide.project,
    startedAt,
    finishedAt: '2026-01-01T00:03:00.000Z',
  });

  const failedRecord = (slide: (typeof slides)[number]): SlideRecord => ({
    ...baseRecord(slide),
    status: 'failed',
    reason: slide.failure,
    message:
      slide.failure === 'NoTissue'
        ? `tile: no tissue patch candidates found in /data/${slide.project}/${slide.slideId}.svs`
        : 'tile: not a TIFF file (bad byte order mark)',
    counts: {},
    failures: {},
    usage: { calls: 0, attempts: 0, cacheHits: 0, promptTokens: 0, completionTokens: 0, latencyMs: 0 },
    samples: [],
    prefixes: {},
  });

  // Drawn up front, in slide order, so the captions do not depend on how the writes interleave.
  const plans = slides.map((slide) => {
    if (slide.failure) return undefined;
    const cells = sampleInOrder(
      grid.candidates,
      Math.min(options.samplesPerSlide, grid.candidates.length),
      seed + 7 + slide.index,
    );
    return cells.map((cell) => {
      const caption = `${pick(vocabulary.pattern)} ${pick(vocabulary.cells)} ${pick(vocabulary.setting)}, ${pick(vocabulary.diagnosis)}.`;
      return { cell, caption, nuclei: pick(vocabulary.nuclei), failed: random() < 0.02 };
    });
  });

  await forEachBounded(slides, 8, async (slide) => {
    const recordKey = runKeys.slideRecord(runId, slide.slideId);
    const plan = plans[slide.index];
    if (!plan) return put(recordKey, json(failedRecord(slide)));
    const tile = tileKeys.prefix(slide.slideId, slide.tileHash);
    const select = selectKeys.prefix(slide.slideId, slide.selectHash);
    const agents = runKeys.agents(runId, slide.slideId, select);
    const writes: Promise<void>[] = [
      put(tileKeys.thumbnail(tile), thumbnails[slide.index % thumbnails.length]!),
      put(tileKeys.metadata(tile), metadataBytes(slide.slideId)),
      put(tileKeys.candidates(tile), candidatesBytes),
      put(
        selectKeys.selection(select),
        jsonLines(
          plan.map(({ cell }, i) => ({
            ...cell,
            priority: i + 1,
            routes: i % 3 === 0 ? ['quality', 'cluster'] : ['cluster'],
            cluster: i % 8,
            scores: { quality: 0.95 - i / 100, attributeMax: null },
          })),
        ),
      ),
    ];
    const samples: SampleRef[] = [];
    const rows: (typeof exportRows)[number] = [];
    const failures: Record<string, number> = {};
    for (const { cell, caption, nuclei, failed } of plan) {
      const id = `${cell.x}_${cell.y}`;
      const sample: SampleRef = {
        id,
        x: cell.x,
        y: cell.y,
        level: 0,
        size: patchSize,
        mpp: 0.25,
        jpegKey: selectKeys.patch(select, id),
      };
      if (imageSlideIds.has(slide.slideId)) writes.push(put(sample.jpegKey, patchJpeg));
      const description = `${caption.slice(0, -1)}. Nuclei are ${nuclei}. Mitotic figures are present.`;
      const usage = { calls: 1, attempts: 1, promptTokens: 900, completionTokens: 60 };
      writes.push(
        put(
          agentKeys.stage(agents, 'describe', id),
          json({ ok: true, description, backend: 'openai', model: 'gpt-4o', promptVersion: 'describe/1#a1', usage }),
        ),
      );
      if (failed) {
        sample.failure = { agent: 'revise', code: 'ModelRefused', reason: 'the model declined to answer' };
        failures.ModelRefused = (failures.ModelRefused ?? 0) + 1;
        samples.push(sample);
        continue;
      }
      const revised = `${caption.slice(0, -1)}. Nuclei are ${nuclei}.`;
      const edits = { added: [], deleted: ['Mitotic figures are present.'], modified: [] };
      writes.push(
        put(
          agentKeys.stage(agents, 'revise', id),
          json({ ok: true, revised, edits, backend: 'openai', model: 'gpt-4o', promptVersion: 'revise/1#b2', usage }),
        ),
      );
      sample.recordKey = agentKeys.stage(agents, 'summarize', id);
      writes.push(
        put(
          sample.recordKey,
          json({
            ok: true,
            caption,
            tokens: 18,
            shortened: 'none',
            backend: 'openai',
            model: 'gpt-4o-mini',
            promptVersion: 'summarize/1#c3',
            usage,
          }),
        ),
      );
      samples.push(sample);
      rows.push({ wsi_id: slide.slideId, position: [String(cell.x), String(cell.y)], caption, file_id: '' });
    }
    await Promise.all(writes);
    const captioned = rows.length;
    const record: SlideRecord = {
      ...baseRecord(slide),
      status: 'completed',
      counts: {
        candidates: grid.candidates.length,
        selected: samples.length,
        described: samples.length,
        revised: captioned,
        captioned,
        failedPatches: samples.length - captioned,
      },
      failures,
      usage: {
        calls: samples.length * 3,
        attempts: samples.length * 3,
        cacheHits: 0,
        promptTokens: 2000 * samples.length,
        completionTokens: 150 * samples.length,
        latencyMs: 900 * samples.length,
      },
      samples,
      prefixes: { tile, select, agents },
    };
    // The record last, as the slide workflow writes it: its presence means the slide is done.
    await put(recordKey, json(record));
    exportRows[slide.index] = rows;
    run.completed.push({
      slideId: slide.slideId,
      patchIds: samples.map((s) => s.id),
      thumbnailKey: tileKeys.thumbnail(tile),
    });
  });
  run.completed.sort((a, b) => (a.slideId < b.slideId ? -1 : 1));

  const exportPrefix = exportKeys.prefix(runId);
  const versionPrefix = exportKeys.version(exportPrefix, run.exportVersion);
  const pathgenJson = exportRows.flatMap((rows) => rows ?? []);
  run.captions = pathgenJson.length;
  await put(`${versionPrefix}pathgen.json`, Buffer.from(JSON.stringify(pathgenJson)));
  await put(`${versionPrefix}dataset-card.md`, Buffer.from(`# ${runId}\n\n${pathgenJson.length} captioned patches.\n`));
  await put(`${versionPrefix}dataset-card.json`, json({ runId, samples: pathgenJson.length }));
  await put(
    exportKeys.pointer(exportPrefix),
    Buffer.from(
      `${JSON.stringify(
        {
          format: 'pathgen-export/1',
          version: run.exportVersion,
          prefix: versionPrefix,
          createdAt: '2026-01-01T12:00:00.000Z',
          samples: pathgenJson.length,
          slides: completedSlides.length,
          shards: 0,
          samplesPerShard: 1000,
          shardPattern: null,
          files: {
            pathgenJson: `${versionPrefix}pathgen.json`,
            card: `${versionPrefix}dataset-card.md`,
            cardJson: `${versionPrefix}dataset-card.json`,
          },
          previousVersions: [],
        },
        null,
        2,
      )}\n`,
    ),
  );
  run.objects = objects;
  run.bytes = bytes;
  return run;
}
