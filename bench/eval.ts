// Benchmark of the eval stage's arithmetic: `npm run bench:eval`.
//
// On synthetic CLIP-like features (class clusters on a shared offset, rows L2-normalised, fixed seeds):
// 1. Linear-probe fits: our L-BFGS `fitLogisticRegression` against scikit-learn's LogisticRegression
//    (lbfgs, C = 1/(n·λ), the same gradient tolerance) on the same features for three λ, sklearn timed
//    inside Python (bench/eval-sklearn.py; no start-up, no loading), one BLAS thread as ours has one;
//    seconds, ratio ours/sklearn and the largest probability difference on the test rows.
// 2. A whole `runLinearProbe` (weight-decay search + final fit) for 1, 16 and all shots, one seed.
// 3. ABMIL: one epoch of `trainAbmil` (gated attention D→256→128, AdamW, one slide a step) against the
//    same model in torch on the CPU (bench/eval-abmil-torch.py), with one thread and with torch's
//    default; both warm (a step or a small bag first, untimed).
// 4. Zero-shot logits of 10,000 images × 9 classes against numpy's normalise + matmul (float32, one
//    thread); the fastest of three runs each.
// 5. Image features through `embedImageFiles` and the feature cache: JPEGs in a temp dir, an fs store,
//    the tiny test model and a ViT-B/16-shaped random encoder; images/s cold (embedded) and warm (all
//    from the cache).
// Knobs: BENCH_CLASSES (9), BENCH_TRAIN (2,000), BENCH_TEST (1,000), BENCH_DIM (512), BENCH_SLIDES (20),
// BENCH_PATCHES (2,000 per slide), BENCH_IMAGES (200), BENCH_ZS_IMAGES (10,000), BENCH_VIT=0 (skip ViT).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { loadClipModel } from '../activities/clip/index.js';
import { trainAbmil, trainingOrder } from '../activities/eval/abmil-training.js';
import { modelCacheKey } from '../activities/eval/feature-cache.js';
import { embedImageFiles } from '../activities/eval/image-features.js';
import { runLinearProbe } from '../activities/eval/linear-probe.js';
import { fitLogisticRegression, predictProbabilities } from '../activities/eval/logistic-regression.js';
import { argmaxRows } from '../activities/eval/metrics.js';
import { zeroShotClassifier, zeroShotLogits } from '../activities/eval/zero-shot.js';
import { FsObjectStore } from '../activities/store/fs-store.js';
import { normalBag } from '../workers/synthetic/datasets/synthetic-bags.js';
import { clusteredFeatures, gaussian } from '../workers/synthetic/datasets/synthetic-features.js';
import { writeTinyClipModel } from '../workers/synthetic/clip-models/tiny-clip-model.js';
import { writeVitB16ClipModel } from '../workers/synthetic/clip-models/vit-b16-model.js';
import { repoRoot, requireReferencePython, requireTrainPython } from '../infra/harness/installed-tools.js';
import { syntheticKinds, syntheticPatch } from '../workers/synthetic/datasets/synthetic-export.js';

const classCount = Number(process.env.BENCH_CLASSES ?? 9);
const trainCount = Number(process.env.BENCH_TRAIN ?? 2000);
const testCount = Number(process.env.BENCH_TEST ?? 1000);
const dim = Number(process.env.BENCH_DIM ?? 512);
const slides = Number(process.env.BENCH_SLIDES ?? 20);
const patchesPerSlide = Number(process.env.BENCH_PATCHES ?? 2000);
const imageCount = Number(process.env.BENCH_IMAGES ?? 200);
const zeroShotCount = Number(process.env.BENCH_ZS_IMAGES ?? 10_000);
const withVit = process.env.BENCH_VIT !== '0';
const weightDecays = [1e-4, 1e-3, 1e-2];
const zeroShotRepeats = 3;
const tolerance = 1e-9;
const fixed = (value: number, digits = 2) => value.toFixed(digits);
const seconds = (ms: number) => `${fixed(ms / 1000)} s`;

// A single thread for numpy/BLAS (our code runs on one): the ratio compares algorithms, not cores.
const oneThread = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
const referencePython = requireReferencePython();
const trainPython = requireTrainPython();

const dir = await mkdtemp(join(tmpdir(), 'pathgen-bench-eval-'));
try {
  const train = clipLike(trainCount, 1);
  const test = clipLike(testCount, 2);
  const textRows = clipLike(classCount, 3).features;
  const images = clipLike(zeroShotCount, 4).features;
  const file = (name: string, values: Float32Array | Int32Array) =>
    writeFile(join(dir, name), new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).then(() =>
      join(dir, name),
    );
  const reference = await runPython<SklearnResult>(referencePython, 'eval-sklearn.py', oneThread, {
    logistic: {
      train: await file('train.f32', train.features),
      labels: await file('labels.i32', train.labels),
      test: await file('test.f32', test.features),
      n: trainCount,
      nTest: testCount,
      dim,
      weightDecays,
      tolerance,
      maxIterations: 10_000,
    },
    zeroShot: {
      image: await file('images.f32', images),
      text: await file('text.f32', textRows),
      n: zeroShotCount,
      classes: classCount,
      dim,
      logitScale: 100,
      repeats: zeroShotRepeats,
    },
  });

  console.log(`linear-probe fits: ${trainCount} train / ${testCount} test × ${dim}, ${classCount} classes`);
  for (const [i, weightDecay] of weightDecays.entries()) {
    const started = performance.now();
    const model = fitLogisticRegression({ ...train, n: trainCount, dim, classCount, weightDecay, tolerance });
    const oursMs = performance.now() - started;
    const probabilities = predictProbabilities(model, test.features, testCount);
    const sklearn = reference.logistic[i]!;
    console.log(
      `  λ=${weightDecay}: ours ${seconds(oursMs)} (${model.iterations} it.), sklearn ${fixed(sklearn.seconds)} s ` +
        `(${sklearn.iterations} it.): ratio ours/sklearn ${fixed(oursMs / 1000 / sklearn.seconds)}; ` +
        `max |Δp| ${largestDifference(probabilities, sklearn.probabilities).toExponential(1)}; ` +
        `test accuracy ${fixed(accuracy(probabilities, test.labels) * 100, 1)} %`,
    );
  }

  for (const shots of [1, 16, null]) {
    let fits = 0;
    const started = performance.now();
    const [result] = runLinearProbe({ train, test, dim, classCount, shots: [shots], seeds: [0], onFit: () => fits++ });
    console.log(
      `runLinearProbe ${shots === null ? 'all' : shots} shots, 1 seed: ${seconds(performance.now() - started)} ` +
        `(${fits} fits, λ=${result!.weightDecay[0]!.toExponential(1)}, accuracy ${fixed(result!.accuracy.mean * 100, 1)} %)`,
    );
  }

  await benchAbmil();

  const classifier = zeroShotClassifier(
    Array.from({ length: classCount }, (_, c) => textRows.subarray(c * dim, (c + 1) * dim)),
    dim,
  );
  let logits: ArrayLike<number> = [];
  let zeroShotMs = Infinity;
  for (let repeat = 0; repeat < zeroShotRepeats; repeat++) {
    const started = performance.now();
    logits = zeroShotLogits(images, zeroShotCount, classifier);
    zeroShotMs = Math.min(zeroShotMs, performance.now() - started);
  }
  console.log(
    `zeroShotLogits ${zeroShotCount} × ${classCount} classes × ${dim} (fastest of ${zeroShotRepeats}): ours ${fixed(zeroShotMs, 1)} ms, numpy (float32, 1 thread) ` +
      `${fixed(reference.zeroShot.seconds * 1000, 1)} ms: ratio ${fixed(zeroShotMs / 1000 / reference.zeroShot.seconds, 1)}; ` +
      `max |Δlogit| ${largestDifference(logits, reference.zeroShot.logits).toExponential(1)}`,
  );

  await benchImageFeatures();
} finally {
  await rm(dir, { recursive: true, force: true });
}

interface SklearnResult {
  logistic: { weightDecay: number; seconds: number; iterations: number; probabilities: number[] }[];
  zeroShot: { seconds: number; logits: number[] };
}

/** Class clusters around random centres plus one offset every row shares (as CLIP's do), L2-normalised. */
function clipLike(count: number, seed: number): { features: Float32Array; labels: Int32Array } {
  const clusters = clusteredFeatures({ classCount, count, dim, separation: 0.15, seed, centresSeed: 11 });
  const shared = Float64Array.from({ length: dim }, gaussian(12));
  const { features } = clusters;
  for (let i = 0; i < count; i++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      features[i * dim + j]! += shared[j]!;
      norm += features[i * dim + j]! ** 2;
    }
    for (let j = 0; j < dim; j++) features[i * dim + j]! /= Math.sqrt(norm);
  }
  return clusters;
}

async function benchAbmil(): Promise<void> {
  const normal = gaussian(21);
  const bags = Array.from({ length: slides }, () => normalBag(normal, patchesPerSlide, dim));
  const examples = bags.map((bag, s) => ({ bag, label: s % 2 }));
  const all = new Float32Array(slides * patchesPerSlide * dim);
  bags.forEach((bag, s) => all.set(bag.features, s * patchesPerSlide * dim));
  const settings = { classCount: 2, hiddenDim: 256, attentionDim: 128, lr: 1e-4, weightDecay: 1e-5 };
  const torch = await runPython<{ runs: { threads: number; seconds: number }[] }>(
    trainPython,
    'eval-abmil-torch.py',
    {},
    {
      bags: await writeFile(join(dir, 'bags.f32'), new Uint8Array(all.buffer)).then(() => join(dir, 'bags.f32')),
      slides,
      patches: patchesPerSlide,
      dim,
      labels: examples.map((example) => example.label),
      ...settings,
      order: trainingOrder(slides, 1, 0)[0],
      threads: [1, null],
    },
  );
  await trainAbmil(examples.slice(0, 2), { ...settings, epochs: 1 });
  const started = performance.now();
  await trainAbmil(examples, { ...settings, epochs: 1, seed: 0 });
  const oursSeconds = (performance.now() - started) / 1000;
  const [single, threaded] = torch.runs;
  console.log(
    `ABMIL one epoch, ${slides} slides × ${patchesPerSlide} × ${dim} (${dim}→256→128): ours ${fixed(oursSeconds)} s; ` +
      `torch CPU ${fixed(single!.seconds)} s (1 thread): ratio ${fixed(oursSeconds / single!.seconds)}; ` +
      `torch ${fixed(threaded!.seconds)} s (${threaded!.threads} threads): ratio ${fixed(oursSeconds / threaded!.seconds)}`,
  );
}

async function benchImageFeatures(): Promise<void> {
  const paths: string[] = [];
  await mkdir(join(dir, 'images'));
  for (let i = 0; i < imageCount; i++) {
    const path = join(dir, 'images', `${String(i).padStart(4, '0')}.jpg`);
    await writeFile(path, await syntheticPatch(syntheticKinds[i % 2]!, 500 + i, 224));
    paths.push(path);
  }
  const models: [string, () => Promise<string>][] = [
    ['tiny (32 px, 16-d)', () => writeTinyClipModel(join(dir, 'tiny'), { seed: 1, imageSize: 32 })],
  ];
  if (withVit)
    models.push([
      'ViT-B/16 shape (224 px, random)',
      () => writeVitB16ClipModel(join(dir, 'vit'), { seed: 1, imageSize: 224 }),
    ]);
  for (const [label, write] of models) {
    const model = await loadClipModel(await write(), { batchSize: 64 });
    try {
      const store = new FsObjectStore({ root: join(dir, `store-${model.config.name}`) });
      const options = { store, model, modelKey: await modelCacheKey(model), batchSize: 64 };
      let started = performance.now();
      const cold = await embedImageFiles(paths, options);
      const coldRate = imageCount / ((performance.now() - started) / 1000);
      started = performance.now();
      const warm = await embedImageFiles(paths, options);
      const warmRate = imageCount / ((performance.now() - started) / 1000);
      console.log(
        `embedImageFiles ${imageCount} JPEGs of 224 px, ${label}: cold ${fixed(coldRate, 1)} images/s ` +
          `(${cold.embedded} embedded), warm ${fixed(warmRate, 1)} images/s (${warm.cached} from the cache): ` +
          `warm/cold ${fixed(warmRate / coldRate, 1)}; max |Δ| ${largestDifference(cold.features, warm.features)}`,
      );
    } finally {
      await model.dispose();
    }
  }
}

async function runPython<T>(python: string, script: string, env: NodeJS.ProcessEnv, job: unknown): Promise<T> {
  const jobFile = join(dir, `${script}.job.json`);
  const resultFile = join(dir, `${script}.result.json`);
  await writeFile(jobFile, JSON.stringify(job));
  await promisify(execFile)(python, [join(repoRoot, 'bench', script), jobFile, resultFile], {
    env: { ...process.env, ...env },
  });
  return JSON.parse(await readFile(resultFile, 'utf8')) as T;
}

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let largest = 0;
  for (let k = 0; k < a.length; k++) largest = Math.max(largest, Math.abs(a[k]! - b[k]!));
  return largest;
}

function accuracy(probabilities: Float64Array, labels: Int32Array): number {
  const predictions = argmaxRows(probabilities, classCount);
  return labels.reduce((sum, label, i) => sum + (predictions[i] === label ? 1 : 0), 0) / labels.length;
}
