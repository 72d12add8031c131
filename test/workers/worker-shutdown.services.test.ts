import type { WorkflowHandle } from '@temporalio/client';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { pathgenDiagnostic } from '../../workflows/diagnostic.js';
import { spawnCli } from '../helpers/cli-process.js';
import { connectTestClient, uniqueQueues } from '../helpers/temporal.js';

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** A real `pathgen worker` process; resolves once it reports that it polls. */
async function startWorker(env: NodeJS.ProcessEnv, configPath: string) {
  const child = spawnCli(['--config', configPath, 'worker', '--queues', 'cpu', '--log-level', 'WARN'], env);
  children.push(child);
  let stderr = '';
  child.stdout.resume();
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('polling')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before polling:\n${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  );
  return { child, exited };
}

async function waitForActivityStart(handle: WorkflowHandle): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const description = await handle.describe();
    const pending = description.raw.pendingActivities ?? [];
    if (pending.some((activity) => Number(activity.state) === 2 /* STARTED */)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the activity never started');
}

describe('pathgen worker shutdown', () => {
  it('on SIGTERM with an activity in flight it exits 0, and the workflow completes on another worker', async () => {
    const queues = uniqueQueues('shutdown');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-worker-'));
    const configPath = path.join(dir, 'config.yaml');
    // A one-second grace so the in-flight activity is cancelled (not finished) by the shutdown.
    writeFileSync(configPath, 'workers:\n  cpu:\n    shutdownGraceSeconds: 1\n');
    const env = {
      PATHGEN_TEMPORAL_ADDRESS: inject('temporalAddress'),
      PATHGEN_TASK_QUEUE_CPU: queues.cpu,
      PATHGEN_STORAGE_ROOT: path.join(dir, 'store'),
    };
    const first = await startWorker(env, configPath);
    const { client, connection } = await connectTestClient();
    try {
      const handle = await client.workflow.start<typeof pathgenDiagnostic>('pathgenDiagnostic', {
        taskQueue: queues.cpu,
        workflowId: `shutdown-${randomUUID()}`,
        args: [{ queue: queues.cpu, holdMs: 6_000, maximumAttempts: 3, scheduleToStartSeconds: 120 }],
      });
      await waitForActivityStart(handle);

      const second = await startWorker(env, configPath);
      first.child.kill('SIGTERM');
      const firstExit = await first.exited;
      expect(firstExit.code, firstExit.stderr).toBe(0);
      expect(firstExit.stderr).toContain('stopped cleanly');

      const result = await handle.result();
      expect(result.pid).toBe(second.child.pid);
      expect(result.attempt).toBe(2);
      second.child.kill('SIGTERM');
      expect((await second.exited).code).toBe(0);
    } finally {
      await connection.close();
    }
  }, 120_000);
});
