import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';
import { uniqueQueues } from '../helpers/temporal.js';

// The README's first command, end to end through the real CLI: synthetic slides → tile → select →
// built-in agents → export, on the test run's dev server; a second run reuses what is done.

describe('pathgen demo', () => {
  it('runs the whole pipeline on embedded defaults and reuses it the second time', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-demo-'));
    const queues = uniqueQueues('demo');
    const env = {
      PATHGEN_TEMPORAL_ADDRESS: inject('temporalAddress'),
      PATHGEN_TASK_QUEUE_CPU: queues.cpu,
      PATHGEN_TASK_QUEUE_GPU: queues.gpu,
      PATHGEN_TASK_QUEUE_AGENTS: queues.agents,
      PATHGEN_STORAGE_ROOT: path.join(dir, 'store'),
    };
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
});
