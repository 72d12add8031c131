// Benchmark of slide reading: `npm run bench:tile`.
//
// Writes the bench slides (bench/tile-slides.ts: Aperio SVS with JPEG 4:2:0 and 4:4:4 tiles, JPEG
// 2000 SVS 33003 and 33005, a DICOM series), picks random 672 × 672 level-0 regions on tissue, and
// for each slide times `pathgen read` on one core (--threads 1, pinned with taskset to one CPU) and
// on all cores (--threads = cores), and OpenSlide's read_region on the same regions in the same run,
// one process pinned to one CPU and one process per core (bench/tile-reference.py). Prints reads/s,
// the ratios, the scaling with cores, and the decoder pathgen used. Also times tissue detection and
// planning on the first slide.
// Knobs: BENCH_WIDTH, BENCH_HEIGHT (JPEG SVS, default 24,000 × 18,000), BENCH_SMALL_WIDTH,
// BENCH_SMALL_HEIGHT (JPEG 2000 and DICOM, 8,000 × 6,000), BENCH_READS (400), BENCH_SEED,
// BENCH_ONLY=name,name (slides to run), BENCH_SLIDE=/path (measure one existing slide instead),
// BENCH_JSON=/path (also write the figures), BENCH_KEEP=1 (keep the slides).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../activities/common/seeded-random.js';
import { OtsuTissueDetector } from '../activities/wsi/otsu-tissue-detector.js';
import { openSlide } from '../activities/wsi/open-slide.js';
import { planCandidates } from '../activities/wsi/patch-grid.js';
import { runCommand } from '../activities/wsi/run-command.js';
import { readSlideThumbnail } from '../activities/wsi/slide-thumbnail.js';
import { repoRoot } from '../infra/harness/installed-tools.js';
import { writeBenchSlides, type BenchSlide } from './tile-slides.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const reads = env('BENCH_READS', 400);
const seed = env('BENCH_SEED', 42);
const size = 672;
const cores = availableParallelism();
const cli = join(repoRoot, 'workers', 'cli.ts');
const referenceScript = fileURLToPath(new URL('./tile-reference.py', import.meta.url));
const pythons = {
  'openslide-3.4': process.env.PATHGEN_PYTHON ?? '/usr/bin/python3',
  'openslide-4.0': process.env.PATHGEN_OPENSLIDE4_PYTHON ?? join(repoRoot, '.tools', 'python-ref', 'bin', 'python'),
};

interface ReadFigures {
  regionsPerSecond: number;
  decoder?: string;
}

/** Random level-0 origins on tissue: a random candidate cell, shifted up to ±150 px, in random order. */
async function tissueOrigins(path: string, log: boolean): Promise<{ x: number; y: number }[]> {
  const reader = await openSlide(path);
  try {
    let started = performance.now();
    const thumbnail = await readSlideThumbnail(reader, 32);
    const mask = await new OtsuTissueDetector().detect(reader, { thumbnail });
    const tissueMs = performance.now() - started;
    started = performance.now();
    const grid = planCandidates(reader, mask, { patchSize: size });
    if (log)
      console.log(
        `tissue detection ${(tissueMs / 1000).toFixed(2)} s (thumbnail ${thumbnail.width} × ${thumbnail.height}, ` +
          `tissue ${(mask.tissueFraction * 100).toFixed(1)} %); grid ${grid.candidates.length} candidates in ${(performance.now() - started).toFixed(0)} ms`,
      );
    const random = seededRandom(seed);
    const { width, height } = reader.levels[0]!;
    return Array.from({ length: reads }, () => {
      const cell = grid.candidates[Math.floor(random() * grid.candidates.length)]!;
      return {
        x: Math.min(width - size, Math.max(0, cell.x + Math.floor((random() - 0.5) * 300))),
        y: Math.min(height - size, Math.max(0, cell.y + Math.floor((random() - 0.5) * 300))),
      };
    });
  } finally {
    await reader.close();
  }
}

/** Runs a command (pinned to CPU 0 when asked) that prints one JSON line of figures; the best of `runs`. */
async function best(command: string, args: string[], pinned: boolean, runs = 2): Promise<ReadFigures> {
  let top: ReadFigures | undefined;
  for (let i = 0; i < runs; i++) {
    const result = await runCommand('env', [
      // OpenSlide caches 32 MiB of decoded tiles per slide; pathgen gets the same, so repeats of a
      // region on a small slide do not flatter either side.
      'PATHGEN_READER_TILE_CACHE_MIB=32',
      ...(pinned ? ['taskset', '-c', '0'] : []),
      command,
      ...args,
    ]);
    if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr.trim()}`);
    const figures = JSON.parse(result.stdout.trim().split('\n').pop()!) as ReadFigures;
    if (!top || figures.regionsPerSecond > top.regionsPerSecond) top = figures;
  }
  return top!;
}

async function measure(slide: BenchSlide, dir: string, first: boolean) {
  const origins = await tissueOrigins(slide.path, first);
  const coords = join(dir, `${slide.name.replace(/\W+/g, '-')}.coords.jsonl`);
  await writeFile(coords, origins.map((o) => JSON.stringify(o)).join('\n') + '\n');
  const read = (threads: number) => [
    '--import',
    'tsx',
    cli,
    'read',
    slide.path,
    '--coords',
    coords,
    '--size',
    String(size),
    '--threads',
    String(threads),
  ];
  const ours1 = await best(process.execPath, read(1), true);
  const oursN = await best(process.execPath, read(cores), false);
  const python = pythons[slide.reference];
  const referencePath = slide.referencePath ?? slide.path;
  const reference1 = await best(python, [referenceScript, referencePath, coords, String(size), '1'], true);
  const referenceN = await best(python, [referenceScript, referencePath, coords, String(size), String(cores)], false);
  return {
    slide: slide.name,
    decoder: ours1.decoder ?? 'unknown',
    reference: slide.reference,
    pathgenOneCore: ours1.regionsPerSecond,
    pathgenAllCores: oursN.regionsPerSecond,
    openSlideOneCore: reference1.regionsPerSecond,
    openSlideAllCores: referenceN.regionsPerSecond,
    ratioOneCore: ours1.regionsPerSecond / reference1.regionsPerSecond,
    ratioAllCores: oursN.regionsPerSecond / referenceN.regionsPerSecond,
    pathgenScaling: oursN.regionsPerSecond / ours1.regionsPerSecond,
  };
}

const dir = await mkdtemp(join(tmpdir(), 'pathgen-bench-tile-'));
try {
  const given = process.env.BENCH_SLIDE;
  const slides: BenchSlide[] = given
    ? [{ name: given, path: given, reference: given.endsWith('.dcm') ? 'openslide-4.0' : 'openslide-3.4' }]
    : await writeBenchSlides(
        dir,
        {
          width: env('BENCH_WIDTH', 24_000),
          height: env('BENCH_HEIGHT', 18_000),
          smallWidth: env('BENCH_SMALL_WIDTH', 8_000),
          smallHeight: env('BENCH_SMALL_HEIGHT', 6_000),
          seed,
        },
        (line) => console.log(line),
      );
  const only = process.env.BENCH_ONLY?.split(',');
  const rows = [];
  for (const [i, slide] of slides.entries()) {
    if (only && !only.some((name) => slide.name.startsWith(name))) continue;
    const row = await measure(slide, dir, i === 0);
    rows.push(row);
    console.log(
      `${row.slide} [${row.decoder}]: pathgen ${row.pathgenOneCore.toFixed(0)} reads/s on 1 core, ${row.pathgenAllCores.toFixed(0)} on ${cores} ` +
        `(×${row.pathgenScaling.toFixed(2)}); ${row.reference} ${row.openSlideOneCore.toFixed(0)} on 1 core, ${row.openSlideAllCores.toFixed(0)} on ${cores} ` +
        `processes; ratio ${row.ratioOneCore.toFixed(2)}× one core, ${row.ratioAllCores.toFixed(2)}× all cores`,
    );
  }
  console.log(`(${reads} random ${size} × ${size} level-0 reads on tissue per slide, best of 2 runs each)`);
  if (process.env.BENCH_JSON) await writeFile(process.env.BENCH_JSON, JSON.stringify({ cores, reads, rows }, null, 2));
  if (process.env.BENCH_KEEP === '1') console.log(`slides kept in ${dir}`);
} finally {
  if (process.env.BENCH_KEEP !== '1') await rm(dir, { recursive: true, force: true });
}
