// Benchmark of the select stage: `npm run bench:select`.
//
// 1. Crops per second through read + decode + preprocessing + ONNX, for the tiny test model and for a
//    ViT-B/16-shaped image encoder with random weights (CPU), with the share of wall time outside
//    session.run; the reference, measured in the same run, is session.run alone on ready tensors.
//    Each for the exact read and for tiles decoded at 1/2 in libjpeg's DCT domain (scaleDenom 2),
//    with the cosine between the two paths' embeddings (min and mean over the candidates).
// 2. The select feed (bench/select-feed.ts): candidates/s to 224-px CLIP tensors, exact and 1/2, one
//    core (pinned child) and all cores, against OpenSlide + PIL + numpy on the same coordinates.
// 3. The demo's three slides selected with either path (bench/select-agreement.ts): same patches?
// 4. Model-free features (the embedded default) per crop.
// 5. k-means on 20,000 × 768 unit vectors, k = ⌈√N⌉ (paper) and k = ⌈√(1.6·N/128)⌉ (released code), with
//    our ONNX Runtime kernels against the plain-JS kernels on the smaller k.
// The slide is an Aperio-layout SVS with YCbCr 4:2:0 JPEG tiles at Q 85, as scanners write them.
// Knobs: BENCH_WIDTH/BENCH_HEIGHT (slide, default 16,000 × 12,000), BENCH_BATCH (32), BENCH_VIT=0 (skip ViT),
// BENCH_REPEATS (3: feed figures are the best of these), BENCH_KMEANS_N (20,000), BENCH_KMEANS_D (768).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { embedInBatches, loadClipModel } from '../activities/clip/index.js';
import type { ClipModel } from '../activities/clip/index.js';
import { preprocessBatch } from '../activities/clip/preprocess.js';
import { modelFreeFeatures } from '../activities/select/model-free-features.js';
import { clusterCount, kmeans, l2NormaliseRows } from '../activities/select/index.js';
import { openSlide } from '../activities/wsi/open-slide.js';
import { readPatches } from '../activities/wsi/patch-reading.js';
import { planSlide } from '../activities/wsi/tissue-patch-plan.js';
import type { RgbImage, SlideReader } from '../activities/wsi/slide-reader.js';
import { seededRandom } from '../activities/common/seeded-random.js';
import type { PatchCandidate } from '../activities/wsi/patch-grid.js';
import { writeTinyClipModel } from '../workers/synthetic/clip-models/tiny-clip-model.js';
import { writeVitB16ClipModel } from '../workers/synthetic/clip-models/vit-b16-model.js';
import { writeSyntheticSvs } from '../workers/synthetic/slides/synthetic-slides.js';
import { demoSelections, embeddingAgreement } from './select-agreement.js';
import { feedSection } from './select-feed.js';

const width = Number(process.env.BENCH_WIDTH ?? 16_000);
const height = Number(process.env.BENCH_HEIGHT ?? 12_000);
const batchSize = Number(process.env.BENCH_BATCH ?? 32);
const withVit = process.env.BENCH_VIT !== '0';
const kmeansN = Number(process.env.BENCH_KMEANS_N ?? 20_000);
const kmeansD = Number(process.env.BENCH_KMEANS_D ?? 768);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const fixed = (value: number, digits = 1) => value.toFixed(digits);

const dir = await mkdtemp(join(tmpdir(), 'pathgen-bench-select-'));
try {
  const slide = await writeSyntheticSvs(join(dir, 'slide.svs'), {
    width,
    height,
    seed: 5,
    blobs: 5,
    jpegColour: 'ycbcr-420',
    quality: 85,
  });
  const reader = await openSlide(slide.path);
  const plan = await planSlide(reader, {
    patchSize: 672,
    level: 0,
    minTissueFraction: 0.5,
    maskDownsample: 32,
    seed: 0,
  });
  const candidates = plan.grid.candidates;
  console.log(
    `slide ${width} × ${height} (YCbCr 4:2:0 JPEG Q85, read with ${reader.decoder}): ${candidates.length} candidates of 672 × 672`,
  );

  const models: [string, () => Promise<string>][] = [
    ['tiny (32 px, 16-d)', () => writeTinyClipModel(join(dir, 'tiny'), { seed: 1, imageSize: 32 })],
    ['tiny (224 px, 16-d)', () => writeTinyClipModel(join(dir, 'tiny-224'), { seed: 1, imageSize: 224 })],
  ];
  if (withVit)
    models.push([
      'ViT-B/16 shape (224 px, random)',
      () => writeVitB16ClipModel(join(dir, 'vit'), { seed: 1, imageSize: 224 }),
    ]);
  const loaded: [string, ClipModel][] = [];
  try {
    for (const [label, write] of models) {
      const model = await loadClipModel(await write(), { batchSize });
      loaded.push([label, model]);
      for (const scaleDenom of [1, 2]) await measureModel(label, model, reader, candidates, scaleDenom);
      const agreement = await embeddingAgreement(reader, candidates, model, batchSize);
      console.log(
        `${label}: cosine exact vs 1/2 over ${agreement.count} candidates: min ${agreement.min.toFixed(5)}, mean ${agreement.mean.toFixed(5)}`,
      );
    }
    const spec = loaded.find(([label]) => label.startsWith('tiny (224'))![1].config.preprocess;
    await feedSection(dir, slide.path, [...candidates], spec, { batch: batchSize, repeats, scales: [1, 2] });
    await demoSelections(dir, loaded);
  } finally {
    for (const [, model] of loaded) await model.dispose();
  }

  let started = performance.now();
  let measured = 0;
  for await (const patch of readPatches(reader, candidates.slice(0, 64))) {
    modelFreeFeatures(patch.image, 0.25);
    measured += 1;
  }
  const modelFreeMs = (performance.now() - started) / measured;
  console.log(
    `model-free features (read + measure): ${fixed(modelFreeMs)} ms per crop, ${fixed(1000 / modelFreeMs)} crops/s`,
  );
  await reader.close();

  const random = seededRandom(7);
  const data = new Float32Array(kmeansN * kmeansD);
  for (let i = 0; i < data.length; i++) data[i] = random() - 0.5;
  l2NormaliseRows(data, kmeansN, kmeansD);
  for (const policy of ['sqrtPatches', 'sqrtBatches'] as const) {
    const k = clusterCount(kmeansN, policy);
    started = performance.now();
    const result = await kmeans(data, kmeansN, kmeansD, { k, seed: 0, backend: 'onnx' });
    const onnxMs = performance.now() - started;
    let line = `k-means ${kmeansN} × ${kmeansD}, ${policy} k=${k}: ${fixed(onnxMs / 1000, 2)} s (${result.iterations} iterations, ONNX Runtime kernels)`;
    if (policy === 'sqrtBatches') {
      started = performance.now();
      const js = await kmeans(data, kmeansN, kmeansD, { k, seed: 0, backend: 'js', maxIterations: result.iterations });
      const jsMs = performance.now() - started;
      line += `; plain JS ${fixed(jsMs / 1000, 2)} s (${js.iterations} iterations): ${fixed(jsMs / onnxMs, 1)}× faster`;
    }
    console.log(line);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function measureModel(
  label: string,
  model: ClipModel,
  reader: SlideReader,
  candidates: readonly PatchCandidate[],
  scaleDenom: number,
): Promise<void> {
  const spec = model.config.preprocess;
  const report = await embedInBatches(readPatches(reader, candidates, { scaleDenom }), {
    batchSize,
    prepare: (batch: { image: RgbImage }[]) =>
      preprocessBatch(
        batch.map((patch) => patch.image),
        spec,
      ),
    run: (pixels, count) => model.embedImages(pixels, count),
  });
  const perSecond = (report.items / report.totalMs) * 1000;
  // Reference: the encoder alone on tensors that are already prepared (same batch size and count).
  const ready = new Float32Array(batchSize * 3 * spec.imageSize * spec.imageSize).fill(0.1);
  const started = performance.now();
  let done = 0;
  while (done < report.items) {
    const count = Math.min(batchSize, report.items - done);
    await model.embedImages(ready.subarray(0, count * 3 * spec.imageSize * spec.imageSize), count);
    done += count;
  }
  const inferenceOnly = (report.items / (performance.now() - started)) * 1000;
  console.log(
    `${label}, ${scaleDenom === 1 ? 'exact read' : `tiles decoded at 1/${scaleDenom}`}: ${fixed(perSecond)} crops/s through read + decode + preprocess + ONNX (batch ${batchSize}); ` +
      `${fixed(report.outsideRunShare * 100)} % of wall time outside session.run; ` +
      `session.run alone ${fixed(inferenceOnly)} crops/s → pipeline at ${fixed((perSecond / inferenceOnly) * 100)} % of inference speed`,
  );
}
