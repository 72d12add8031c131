import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { loadConfig } from '../../workers/config/load-config.js';
import type { PathgenConfig } from '../../workers/config/schema.js';
import { runDoctor } from '../../workers/doctor.js';
import { runWorkers } from '../../workers/run-workers.js';
import { runCli } from '../helpers/cli-process.js';
import { uniqueQueues } from '../helpers/temporal.js';

function testConfig(queues: PathgenConfig['taskQueues'], root: string): PathgenConfig {
  const result = loadConfig({
    env: {},
    overrides: { temporal: { address: inject('temporalAddress') }, taskQueues: queues, storage: { kind: 'fs', root } },
  });
  if (!result.ok) throw new Error('test config invalid');
  return result.config;
}

describe('pathgen doctor', () => {
  it('is all green with a worker for every queue, and names the queue whose worker is missing', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'pathgen-doctor-'));
    const config = testConfig(uniqueQueues('doctor'), root);
    const store = new FsObjectStore({ root });
    let stopGpu!: () => void;
    const gpuStopped = new Promise<void>((resolve) => (stopGpu = resolve));
    let stopCpu!: () => void;
    const cpuStopped = new Promise<void>((resolve) => (stopCpu = resolve));
    const cpuWorkers = runWorkers({ config, roles: ['cpu', 'agents'], store, until: cpuStopped });
    const gpuWorkers = runWorkers({ config, roles: ['gpu'], store, until: gpuStopped });
    try {
      const green = await runDoctor({ config, store, queueTimeoutSeconds: 20 });
      const failures = green.filter((check) => check.status === 'fail');
      expect(failures).toEqual([]);
      expect(green.map((check) => check.check)).toEqual(
        expect.arrayContaining(['config', 'temporal', 'queue cpu', 'queue gpu', 'queue agents', 'store']),
      );

      stopGpu();
      await gpuWorkers;
      const noGpu = await runDoctor({ config, store, queueTimeoutSeconds: 3 });
      const gpu = noGpu.find((check) => check.check === 'queue gpu');
      expect(gpu?.status).toBe('fail');
      expect(gpu?.detail).toContain(`no worker answered on ${config.taskQueues.gpu}`);
      expect(gpu?.fix).toBe('start a worker for it: pathgen worker --queues gpu');
      expect(noGpu.find((check) => check.check === 'queue cpu')?.status).toBe('ok');
    } finally {
      stopGpu();
      stopCpu();
      await Promise.all([cpuWorkers, gpuWorkers]);
    }
  }, 120_000);

  it('exits non-zero from the CLI when no worker runs, naming the queue and the fix', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'pathgen-doctor-'));
    const queues = uniqueQueues('doctor-cli');
    const result = await runCli(['doctor', '--timeout', '2'], {
      PATHGEN_TEMPORAL_ADDRESS: inject('temporalAddress'),
      PATHGEN_TASK_QUEUE_CPU: queues.cpu,
      PATHGEN_STORAGE_ROOT: root,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      new RegExp(`queue cpu\\s+FAIL\\s+${queues.cpu}: no worker answered on ${queues.cpu}`),
    );
    expect(result.stdout).toContain('fix: start a worker for it: pathgen worker --queues cpu');
    expect(result.stdout).toMatch(/store\s+OK/);
  });

  it('fails the temporal check with the fix when the server is unreachable', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'pathgen-doctor-'));
    const config = { ...testConfig(uniqueQueues('doctor-down'), root) };
    config.temporal = { ...config.temporal, address: '127.0.0.1:1' };
    const checks = await runDoctor({ config, store: new FsObjectStore({ root }) });
    expect(checks.find((check) => check.check === 'temporal')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('infra/dev.sh up'),
    });
    expect(checks.filter((check) => check.check.startsWith('queue')).every((check) => check.status === 'skip')).toBe(
      true,
    );
  });
});
