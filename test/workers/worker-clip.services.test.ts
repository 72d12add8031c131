import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { writeTinyClipModel } from '../../workers/synthetic/clip-models/tiny-clip-model.js';
import { runCli, spawnCli } from '../helpers/cli-process.js';
import { uniqueQueues } from '../helpers/temporal.js';

// A GPU worker says where its CLIP runs, and one told to use only CUDA never runs it on the CPU.

let root: string;
let modelDir: string;
beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'pathgen-worker-clip-'));
  modelDir = await writeTinyClipModel(path.join(root, 'tiny'), { seed: 3 });
});

function env(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const queues = uniqueQueues('worker-clip');
  return {
    PATHGEN_TEMPORAL_ADDRESS: inject('temporalAddress'),
    PATHGEN_TASK_QUEUE_CPU: queues.cpu,
    PATHGEN_TASK_QUEUE_GPU: queues.gpu,
    PATHGEN_TASK_QUEUE_AGENTS: queues.agents,
    PATHGEN_STORAGE_ROOT: path.join(root, 'store'),
    PATHGEN_SLIDE_CACHE_DIR: path.join(root, 'cache'),
    ...extra,
  };
}

describe('a gpu worker and its CLIP execution provider', () => {
  it.each([
    ['without a model', {}],
    ['with a model', { PATHGEN_CLIP_MODEL: 'MODEL' }],
  ])('fails at start, %s, when the providers are [cuda] and CUDA cannot load', async (_name, extra) => {
    const settings = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, v === 'MODEL' ? modelDir : v]));
    const result = await runCli(
      ['worker', '--queues', 'gpu', '--log-level', 'ERROR'],
      env({ PATHGEN_CLIP_PROVIDERS: 'cuda', ...settings }),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('polling');
    expect(result.stderr).toMatch(
      /^pathgen: ProviderUnavailable: .*CUDA.*; select\.executionProviders is \[cuda\] without cpu, so CLIP does not fall back to the CPU \(add cpu to allow it\)$/m,
    );
  });

  it('names the provider of its CLIP sessions on its start-up line and in doctor', async () => {
    const settings = env({ PATHGEN_CLIP_MODEL: modelDir, PATHGEN_CLIP_PROVIDERS: 'cuda,cpu' });
    const worker = spawnCli(['worker', '--queues', 'cpu,gpu', '--log-level', 'ERROR'], settings);
    worker.stdout.resume();
    let stderr = '';
    try {
      await new Promise<void>((resolve, reject) => {
        worker.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes('polling')) resolve();
        });
        worker.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${stderr}`)));
      });
      expect(stderr).toMatch(new RegExp(`polling .*; CLIP ${modelDir}: image and text sessions on cpu\\n`));
      const doctor = await runCli(['doctor', '--queues', 'gpu', '--timeout', '20'], settings, 120_000);
      expect(doctor.stdout).toMatch(new RegExp(`queue gpu\\s+OK\\s+.*answered in \\d+ ms; CLIP ${modelDir} on cpu`));
    } finally {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  });
});
