import { mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireTrainPython } from '../../infra/harness/installed-tools.js';
import { runCli } from '../helpers/cli-process.js';
import { uniqueQueues, workerProcessEnv } from '../helpers/temporal.js';

// The README's first command, end to end through the real CLI: synthetic slides → tile → select →
// built-in agents → export, on the test run's dev server; a second run reuses what is done.

describe('pathgen demo', () => {
  it('runs the whole pipeline on embedded defaults and reuses it the second time', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-demo-'));
    const queues = uniqueQueues('demo');
    const env = workerProcessEnv(queues, dir);
    const args = ['demo', '--slides', '3', '--dir', path.join(dir, 'demo')];
    const first = await runCli(args, env, 300_000);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/slides\s+3 \(3 completed, 0 failed\)/);
    const captions = /(\d+) captioned/.exec(first.stdout)?.[1];
    expect(Number(captions)).toBeGreaterThan(10);
    const dataset = /dataset\s+(\S+)/.exec(first.stdout)![1]!;
    expect(readdirSync(path.join(dataset, 'shards'))).toEqual(['shard-000000.tar']);
    expect(first.stdout).toContain('Temporal UI');

    const second = await runCli(args, env, 300_000);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`${captions} captioned`);
    expect(second.stdout).toContain('using the Temporal server');
  }, 600_000);

  it('closes the loop with --train: a tiny CLIP trained on the export beats chance zero-shot', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-demo-train-'));
    const queues = uniqueQueues('demo-train');
    writeFileSync(path.join(dir, 'config.yaml'), `slideCache:\n  dir: ${path.join(dir, 'cache')}\n`);
    const env = workerProcessEnv(queues, dir, {
      PATHGEN_CONFIG: path.join(dir, 'config.yaml'),
      PATHGEN_TRAIN_PYTHON: requireTrainPython(),
    });
    const run = await runCli(['demo', '--train', '--dir', path.join(dir, 'demo')], env, 600_000);
    expect(run.code, run.stderr).toBe(0);
    const match = /zero-shot accuracy ([\d.]+) % on held-out synthetic patches \(chance ([\d.]+) %\)/.exec(run.stdout);
    expect(match, run.stdout).not.toBeNull();
    const [accuracy, chance] = [Number(match![1]), Number(match![2])];
    expect(chance).toBeCloseTo(33.3, 1);
    // Clearly above chance: the captions carried each tissue kind's signal into the model.
    expect(accuracy).toBeGreaterThanOrEqual(2 * chance);
    expect(readdirSync(path.join(dir, 'store', 'models', 'demo-3-0-tiny-clip-e30')).sort()).toEqual([
      'bpe_simple_vocab_16e6.txt.gz',
      'config.json',
      'image_encoder.onnx',
      'lineage.json',
      'text_encoder.onnx',
    ]);
  }, 900_000);
});
