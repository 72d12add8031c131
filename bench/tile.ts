// Benchmark of the tile stage's slide reading: `npm run bench:tile`.
//
// Writes a 40,000 × 30,000 Aperio-layout slide (240 px JPEG tiles, levels 1/4/16/64) into a temp
// dir, times tissue detection and planning, then times random 672 × 672 level-0 reads of tissue
// tissue with our reader and, on the same coordinates in the same run, with OpenSlide's Python
// read_region (only the reads are timed). Environment knobs: BENCH_WIDTH, BENCH_HEIGHT, BENCH_READS,
// BENCH_SEED, BENCH_JPEG=rgb|ycbcr, BENCH_KEEP=1 (keep the slide), PATHGEN_PYTHON (a python3 with openslide),
// BENCH_SLIDE=/path/to/slide.svs (measure an existing slide, e.g. a real one, instead of writing one).
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { openSlide } from '../activities/wsi/open-slide.js';
import { OtsuTissueDetector } from '../activities/wsi/otsu-tissue-detector.js';
import { planCandidates } from '../activities/wsi/patch-grid.js';
import { seededRandom } from '../activities/common/seeded-random.js';
import { readPatches } from '../activities/wsi/patch-reading.js';
import { runCommand } from '../activities/wsi/run-command.js';
import { readSlideThumbnail } from '../activities/wsi/slide-thumbnail.js';
import { findOpenSlidePython } from '../infra/harness/openslide-reference.js';
import { writeSyntheticSvs } from '../workers/synthetic/slides/synthetic-slides.js';

const width = Number(process.env.BENCH_WIDTH ?? 40_000);
const height = Number(process.env.BENCH_HEIGHT ?? 30_000);
const reads = Number(process.env.BENCH_READS ?? 300);
const seed = Number(process.env.BENCH_SEED ?? 42);
const patch = 672;
// YCbCr 4:4:4 tiles decode like real Aperio tiles (one interleaved scan); `rgb` gives the three-scan
// RGB tiles the tests use to reproduce Aperio's colour-space trap, which decode about twice as slowly.
const jpegColour = process.env.BENCH_JPEG === 'rgb' ? 'rgb' : 'ycbcr';

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

// Writing 1.2 gigapixels leaves a large, fragmented heap behind; the slide is written by a child
// process so the timed reads run in a fresh one, as they would in a worker.
if (process.argv[2] === '--write-slide') {
  await writeSyntheticSvs(process.argv[3]!, {
    width,
    height,
    seed,
    blobs: 5,
    downsamples: [4, 16, 64],
    reuseGlassTiles: true,
    quality: 80,
    jpegColour,
  });
  process.exit(0);
}

const dir = await mkdtemp(join(tmpdir(), 'pathgen-bench-'));
try {
  const given = process.env.BENCH_SLIDE;
  const path = given ?? join(dir, 'bench.svs');
  let started = performance.now();
  if (given) {
    console.log(`slide: ${given}, ${((await stat(given)).size / 1e6).toFixed(0)} MB`);
  } else {
    const writer = await runCommand(process.execPath, [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      '--write-slide',
      path,
    ]);
    if (writer.code !== 0) throw new Error(`writing the benchmark slide failed: ${writer.stderr}`);
    const size = (await stat(path)).size;
    console.log(
      `slide: ${width} × ${height} Aperio layout, 240 px JPEG ${jpegColour === 'rgb' ? 'RGB' : 'YCbCr 4:4:4'} tiles, ${(size / 1e6).toFixed(0)} MB, written in ${seconds(performance.now() - started)}`,
    );
  }

  const reader = await openSlide(path);
  started = performance.now();
  const thumbnail = await readSlideThumbnail(reader, 32);
  const mask = await new OtsuTissueDetector().detect(reader, { thumbnail });
  const tissueMs = performance.now() - started;
  started = performance.now();
  const grid = planCandidates(reader, mask, { patchSize: patch });
  const planMs = performance.now() - started;
  console.log(
    `tissue detection: ${seconds(tissueMs)} (thumbnail ${thumbnail.width} × ${thumbnail.height} from level ${thumbnail.level}, ` +
      `tissue ${(mask.tissueFraction * 100).toFixed(1)} %); grid: ${grid.candidates.length} candidates of ${grid.columns * grid.rows} cells in ${planMs.toFixed(0)} ms`,
  );

  // Random reads on tissue: a random candidate cell, shifted by up to ±150 px so reads do not all
  // start on the grid, in random order. A few other reads warm both readers up first (JIT, page cache).
  const random = seededRandom(seed);
  const onTissue = () => {
    const cell = grid.candidates[Math.floor(random() * grid.candidates.length)]!;
    return {
      x: Math.max(0, cell.x + Math.floor((random() - 0.5) * 300)),
      y: Math.max(0, cell.y + Math.floor((random() - 0.5) * 300)),
    };
  };
  const warmUp = Array.from({ length: 20 }, onTissue);
  const picked = Array.from({ length: reads }, onTissue);

  for (const { x, y } of warmUp) await reader.read(0, x, y, patch, patch);
  started = performance.now();
  for (const { x, y } of picked) await reader.read(0, x, y, patch, patch);
  const oursMs = performance.now() - started;
  const oursRate = picked.length / (oursMs / 1000);
  console.log(
    `pathgen reader, one read at a time: ${picked.length} reads in ${seconds(oursMs)} = ${oursRate.toFixed(1)} reads/s`,
  );
  await reader.close();

  const pipelined = await openSlide(path);
  for (const { x, y } of warmUp) await pipelined.read(0, x, y, patch, patch);
  started = performance.now();
  const candidates = picked.map(({ x, y }) => ({ x, y, level: 0, width: patch, height: patch, tissue: 1 }));
  for await (const _ of readPatches(pipelined, candidates, { readAhead: 4 })) void _;
  const pipelinedMs = performance.now() - started;
  const pipelinedRate = picked.length / (pipelinedMs / 1000);
  console.log(
    `pathgen reader, 4 reads ahead (as the tile activity writes patches): ${pipelinedRate.toFixed(1)} reads/s`,
  );
  await pipelined.close();

  const python = await findOpenSlidePython();
  if (!python) {
    console.log('OpenSlide reference: python3-openslide not found (run infra/install-tools.sh); no ratio');
  } else {
    const script = [
      'import json, sys, time, openslide',
      's = openslide.OpenSlide(sys.argv[1])',
      'coords = json.loads(sys.argv[2])',
      'for x, y in json.loads(sys.argv[3]): s.read_region((x, y), 0, (672, 672))',
      't = time.perf_counter()',
      'for x, y in coords: s.read_region((x, y), 0, (672, 672))',
      'print(time.perf_counter() - t)',
    ].join('\n');
    const pairs = (list: { x: number; y: number }[]) => JSON.stringify(list.map(({ x, y }) => [x, y]));
    const result = await runCommand(python, ['-c', script, path, pairs(picked), pairs(warmUp)]);
    if (result.code !== 0) throw new Error(`OpenSlide benchmark failed: ${result.stderr}`);
    const openSlideMs = Number(result.stdout.trim()) * 1000;
    const openSlideRate = picked.length / (openSlideMs / 1000);
    console.log(
      `OpenSlide read_region (Python): ${picked.length} reads in ${seconds(openSlideMs)} = ${openSlideRate.toFixed(1)} reads/s`,
    );
    console.log(
      `ratio pathgen / OpenSlide: ${(oursRate / openSlideRate).toFixed(2)}× one at a time, ${(pipelinedRate / openSlideRate).toFixed(2)}× pipelined`,
    );
  }
  if (process.env.BENCH_KEEP === '1') console.log(`slide kept at ${path}`);
} finally {
  if (process.env.BENCH_KEEP !== '1') await rm(dir, { recursive: true, force: true });
}
