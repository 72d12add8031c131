// bench:select's feed section: candidates per second turned into CLIP input tensors (read 672 × 672
// at level 0, resize to the model's size, normalise: readPatches + preprocessBatch, what the select
// stage does before the model), on one core and on all, for the exact read and for tiles decoded at
// 1/2 in libjpeg's DCT domain; against OpenSlide read_region + PIL bicubic + numpy on the same
// coordinates in the same run (bench/select-feed-reference.py). One core means one: our side runs
// in a child pinned with `taskset -c 0` (bench/select-feed-child.ts), the reference too.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PreprocessSpec } from '../activities/clip/preprocess-spec.js';
import { preprocessBatch } from '../activities/clip/preprocess.js';
import { setDecodeThreads } from '../activities/wsi/native-codecs.js';
import { openSlide } from '../activities/wsi/open-slide.js';
import type { PatchCandidate } from '../activities/wsi/patch-grid.js';
import { readPatches } from '../activities/wsi/patch-reading.js';
import type { RgbImage } from '../activities/wsi/slide-reader.js';
import { runCommand } from '../activities/wsi/run-command.js';
import { repoRoot } from '../infra/harness/installed-tools.js';

export interface FeedJob {
  slide: string;
  candidates: PatchCandidate[];
  spec: PreprocessSpec;
  threads: number;
  /** Candidates read ahead of the one being prepared (readPatches' readAhead). */
  readAhead: number;
  scaleDenom: number;
  batch: number;
  repeats: number;
}

export interface FeedRate {
  /** Best of the repeats. */
  perSecond: number;
  runs: number[];
}

/** Our feed in this process: each repeat opens the slide anew, so no run finds another's tiles cached. */
export async function feedRate(job: FeedJob): Promise<FeedRate> {
  setDecodeThreads(job.threads);
  const runs: number[] = [];
  for (let repeat = 0; repeat < job.repeats; repeat++) {
    const started = performance.now();
    const reader = await openSlide(job.slide);
    let done = 0;
    let batch: RgbImage[] = [];
    const flush = () => {
      if (batch.length > 0) preprocessBatch(batch, job.spec);
      done += batch.length;
      batch = [];
    };
    try {
      for await (const patch of readPatches(reader, job.candidates, {
        readAhead: job.readAhead,
        scaleDenom: job.scaleDenom,
      })) {
        batch.push(patch.image);
        if (batch.length === job.batch) flush();
      }
      flush();
    } finally {
      await reader.close();
    }
    runs.push((done / (performance.now() - started)) * 1000);
  }
  return { perSecond: Math.max(...runs), runs };
}

const pin = existsSync('/usr/bin/taskset') ? ['/usr/bin/taskset', '-c', '0'] : [];

function runJson<T>(command: string[], what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const text = Buffer.concat(out).toString('utf8').trim();
      if (code === 0) resolve(JSON.parse(text.split('\n').pop()!) as T);
      else reject(new Error(`${what} exited with ${code}: ${text.slice(-500)}`));
    });
  });
}

/** A Python with OpenSlide, PIL and numpy: the system's (python3-openslide) if it has numpy, else .tools/python-ref. */
async function referencePython(): Promise<string | undefined> {
  const check = ['-c', 'import numpy, openslide, PIL'];
  for (const python of [
    process.env.PATHGEN_PYTHON,
    '/usr/bin/python3',
    join(repoRoot, '.tools/python-ref/bin/python'),
  ]) {
    if (python && (await runCommand(python, check).catch(() => undefined))?.code === 0) return python;
  }
  return undefined;
}

export interface FeedFigures {
  cores: number;
  ours: { oneCore: FeedRate[]; allCores: FeedRate[] };
  reference?: { python: string; oneCore: FeedRate; allCores: FeedRate };
}

/** Measures and prints the feed section; `scales` are the scaleDenoms measured (1 = exact). */
export async function feedSection(
  dir: string,
  slide: string,
  candidates: PatchCandidate[],
  spec: PreprocessSpec,
  options: { batch: number; repeats: number; scales: number[] },
): Promise<FeedFigures> {
  const cores = availableParallelism();
  const base = { slide, candidates, spec, batch: options.batch, repeats: options.repeats };
  const oneCore: FeedRate[] = [];
  const allCores: FeedRate[] = [];
  // Both in fresh children (nothing else loaded, as a select worker's feed); only one is pinned.
  const child = async (name: string, job: FeedJob, command: string[]) => {
    const jobFile = join(dir, `feed-${name}.json`);
    await writeFile(jobFile, JSON.stringify(job));
    const script = join(repoRoot, 'bench', 'select-feed-child.ts');
    return runJson<FeedRate>(
      [...command, process.execPath, ...process.execArgv, script, jobFile],
      `feed child ${name}`,
    );
  };
  for (const scaleDenom of options.scales) {
    oneCore.push(await child(`one-${scaleDenom}`, { ...base, threads: 1, readAhead: 4, scaleDenom }, pin));
    const all = { ...base, threads: cores, readAhead: Math.max(8, 4 * cores), scaleDenom };
    allCores.push(await child(`all-${scaleDenom}`, all, []));
  }
  const figures: FeedFigures = { cores, ours: { oneCore, allCores } };

  const python = await referencePython();
  if (python) {
    const job = {
      slide,
      candidates: candidates.map((c) => [c.x, c.y]),
      size: candidates[0]!.width,
      imageSize: spec.imageSize,
      mean: spec.mean,
      std: spec.std,
      batch: options.batch,
      repeats: options.repeats,
    };
    const script = join(repoRoot, 'bench', 'select-feed-reference.py');
    const single = join(dir, 'reference-single.json');
    const pool = join(dir, 'reference-pool.json');
    await writeFile(single, JSON.stringify({ ...job, mode: 'single', processes: 1 }));
    await writeFile(pool, JSON.stringify({ ...job, mode: 'pool', processes: cores }));
    figures.reference = {
      python,
      oneCore: await runJson<FeedRate>([...pin, python, script, single], 'the pinned reference'),
      allCores: await runJson<FeedRate>([python, script, pool], 'the reference pool'),
    };
  }
  printFeed(figures, candidates.length, spec.imageSize, options);
  return figures;
}

function printFeed(
  figures: FeedFigures,
  count: number,
  imageSize: number,
  options: { repeats: number; scales: number[] },
): void {
  const fixed = (value: number) => value.toFixed(1);
  const { reference } = figures;
  console.log(
    `select feed: ${count} candidates of 672 × 672 at level 0 → ${imageSize}-px CLIP tensors (readPatches + preprocessBatch), ` +
      `best of ${options.repeats}; reference ${reference ? `OpenSlide read_region + PIL bicubic + numpy (${reference.python})` : 'missing: no Python with openslide, PIL and numpy'}` +
      (pin.length === 0 ? '; taskset missing, "1 core" is not pinned' : ''),
  );
  const rows: [string, FeedRate[], FeedRate | undefined][] = [
    ['1 core (taskset -c 0, setDecodeThreads(1))', figures.ours.oneCore, reference?.oneCore],
    [
      `${figures.cores} cores (setDecodeThreads(${figures.cores}), reference: ${figures.cores} processes)`,
      figures.ours.allCores,
      reference?.allCores,
    ],
  ];
  for (const [label, ours, ref] of rows) {
    const parts = ours.map((rate, i) => {
      const scale = options.scales[i]!;
      const name = scale === 1 ? 'exact' : `1/${scale} DCT`;
      const vsRef = ref ? `, ${fixed(rate.perSecond / ref.perSecond)}× the reference` : '';
      const vsExact = i > 0 ? `, ${fixed(rate.perSecond / ours[0]!.perSecond)}× exact` : '';
      return `${name} ${fixed(rate.perSecond)}/s${vsRef}${vsExact}`;
    });
    console.log(`  ${label}: ${parts.join('; ')}${ref ? `; reference ${fixed(ref.perSecond)}/s` : ''}`);
  }
}
