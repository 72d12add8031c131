import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import sharp from 'sharp';
import { shardPattern, WebDatasetShardWriter } from '../../../activities/export/webdataset-shards.js';
import { FsObjectStore } from '../../../activities/store/fs-store.js';
import { parseOpenClipLogLine, type OpenClipLogEvent } from '../../../activities/train/open-clip-log.js';
import { repoRoot, requireTrainPython } from '../../../infra/harness/installed-tools.js';

// What the train-python tests share: the training environment's Python (never skipped: without
// it these tests fail and say how to install it), synthetic shards written by the export's own
// shard writer, and the trainer run as the train activity runs it (own process group, log parsed).

export const trainerScript = 'infra/train/pathgen_train.py';

const kinds = ['tumor cells', 'stroma', 'lymphocytes', 'necrosis'];

/** A synthetic patch: each kind has its own colour and stripe frequency. */
export async function syntheticJpeg(kind: number, variant: number, width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const stripe = Math.sin(((x + 2 * y) * (kind + 1) * Math.PI) / 16 + variant) > 0 ? 1 : 0;
      const at = (y * width + x) * 3;
      pixels[at] = 120 + 40 * kind + 60 * stripe - ((x * variant) % 23);
      pixels[at + 1] = 60 + 30 * ((kind + 1) % 4) + 20 * stripe;
      pixels[at + 2] = 160 - 25 * kind + ((y * 7) % 19);
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/**
 * `count` 64×64 samples with captions naming their kind, `perShard` to a shard, under
 * <dir>/shards/; returns open_clip's --train-data pattern for them.
 */
export async function writeSyntheticShards(dir: string, count: number, perShard: number): Promise<string> {
  const writer = new WebDatasetShardWriter(new FsObjectStore({ root: dir }), 'shards/', perShard, 0);
  for (let i = 0; i < count; i += 1) {
    const kind = i % kinds.length;
    await writer.add(`sample-${String(i).padStart(4, '0')}`, {
      jpeg: await syntheticJpeg(kind, i, 64, 64),
      caption: `an H&E image of ${kinds[kind]}`,
      metadataJson: JSON.stringify({ kind }),
    });
  }
  const shards = await writer.finish();
  return path.join(dir, 'shards', shardPattern(shards.length)!);
}

/** pathgen-tiny on CPU, a checkpoint and a progress line for every epoch and step. */
export function tinyTrainingArgs(trainData: string, samples: number, logs: string, name: string, epochs: number) {
  return [
    ...['--model', 'pathgen-tiny', '--dataset-type', 'webdataset'],
    ...['--train-data', trainData, '--train-num-samples', String(samples)],
    ...['--batch-size', '16', '--epochs', String(epochs), '--lr', '1e-3', '--warmup', '1', '--seed', '0'],
    ...['--workers', '1', '--device', 'cpu', '--precision', 'fp32'],
    ...['--logs', logs, '--name', name],
    ...['--save-frequency', '1', '--log-every-n-steps', '1', '--report-to', ''],
  ];
}

export interface PythonRun {
  pid: number;
  /** Every line of stdout and stderr, in arrival order per stream. */
  lines: string[];
  events: OpenClipLogEvent[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a script with the training Python in a process group of its own, as the train activity
 * does. `onEvent` sees each parsed log event as it arrives.
 */
export function startPython(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; onEvent?: (event: OpenClipLogEvent, run: PythonRun) => void } = {},
): PythonRun {
  const child = spawn(requireTrainPython(), args, {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const readers = [child.stdout, child.stderr].map((stream) => {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      run.lines.push(line);
      const event = parseOpenClipLogLine(line);
      if (event === null) return;
      run.events.push(event);
      options.onEvent?.(event, run);
    });
    return new Promise<void>((resolve) => lines.once('close', () => resolve()));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      void Promise.all(readers).then(() => resolve({ code, signal }));
    });
  });
  const run: PythonRun = { pid: child.pid ?? -1, lines: [], events: [], exited };
  return run;
}

export async function runPython(args: string[], env?: NodeJS.ProcessEnv) {
  const run = startPython(args, env ? { env } : {});
  const exit = await run.exited;
  return { ...exit, lines: run.lines, events: run.events };
}

/** The last lines of a run, for an assertion's message. */
export function tail(lines: readonly string[], count = 15): string {
  return lines.slice(-count).join('\n');
}

/** True while the process group has members (a dead worker not yet reaped by init still counts). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
