import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/harness/minio-server.js';
import { requireTool } from '../../infra/harness/installed-tools.js';
import { pathgenSearchAttributes } from '../../workflows/search-attributes.js';
import { runCli, startWorkerProcess } from '../helpers/cli-process.js';
import { minioStoreEnv } from '../helpers/minio-store.js';
import { uniqueQueues } from '../helpers/temporal.js';

const run = promisify(execFile);

// A dev server started bare, as a production cluster is before anyone prepared it: no custom
// search attributes, only the default namespace.
let address: string;
let server: ReturnType<typeof spawn>;
let serverExited: Promise<unknown>;

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  server = spawn(
    requireTool('temporal'),
    ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'],
    { stdio: 'ignore' },
  );
  serverExited = new Promise((resolve) => server.once('exit', resolve));
  for (let i = 0; i < 240 && !(await listening(port)); i++) await new Promise((r) => setTimeout(r, 250));
});

afterAll(async () => {
  server.kill('SIGTERM');
  await serverExited;
});

function listFailed(namespace = 'default') {
  return run(requireTool('temporal'), [
    'workflow',
    'list',
    '--address',
    address,
    '--namespace',
    namespace,
    '--query',
    "PathgenStatus = 'failed'",
  ]);
}

describe('pathgen setup on a cluster nobody prepared', () => {
  it('registers the search attributes doctor reported missing; doctor is then green and the UI query works', async () => {
    const queues = uniqueQueues('setup');
    const bucket = `pathgen-setup-${randomUUID().slice(0, 8)}`;
    const env = {
      ...minioStoreEnv(bucket),
      PATHGEN_TEMPORAL_ADDRESS: address,
      PATHGEN_TASK_QUEUE_CPU: queues.cpu,
      PATHGEN_TASK_QUEUE_GPU: queues.gpu,
      PATHGEN_TASK_QUEUE_AGENTS: queues.agents,
      PATHGEN_SLIDE_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), 'pathgen-setup-cache-')),
    };
    await expect(listFailed()).rejects.toThrow(/PathgenStatus/);

    const worker = await startWorkerProcess(['--queues', 'cpu,gpu,agents', '--log-level', 'WARN'], env);
    try {
      const before = await runCli(['doctor', '--timeout', '20'], env, 120_000);
      expect(before.code).toBe(1);
      const names = pathgenSearchAttributes.map((key) => key.name);
      expect(before.stdout).toMatch(new RegExp(`search attributes\\s+FAIL\\s+missing on default: ${names.join(', ')}`));
      expect(before.stdout).toContain('→ fix: run pathgen setup (or: temporal operator search-attribute create');

      // Each step is done before the next can fail: the attributes stay registered.
      const noBucket = await runCli(['setup'], env);
      expect(noBucket.stdout).toContain(`search attributes: registered ${names.join(', ')} on default`);
      expect(noBucket.code).toBe(2);
      expect(noBucket.stderr).toMatch(
        /bucket of s3:\/\/pathgen-setup-\w+\/ does not exist; rerun with --create-bucket/,
      );

      const first = await runCli(['setup', '--create-bucket'], env);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout.split('\n')).toEqual([
        `namespace default: found on ${address}`,
        'search attributes: all present on default',
        `store: created s3://${bucket}/`,
        'setup: done',
        '',
      ]);
      const again = await runCli(['setup', '--create-bucket'], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(`store: found s3://${bucket}/`);

      const after = await runCli(['doctor', '--timeout', '20'], env, 120_000);
      expect(after.stdout).not.toMatch(/ FAIL /);
      expect(after.code).toBe(0);
      expect(after.stdout).toMatch(/search attributes\s+OK/);
      for (const role of ['cpu', 'gpu', 'agents']) expect(after.stdout).toMatch(new RegExp(`queue ${role}\\s+OK`));
      await expect(listFailed()).resolves.toBeDefined();
    } finally {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  });

  it('names the command for a missing namespace, and creates it when allowed', async () => {
    const namespace = `pathgen-${randomUUID().slice(0, 8)}`;
    const env = { PATHGEN_TEMPORAL_ADDRESS: address, PATHGEN_TEMPORAL_NAMESPACE: namespace };
    const refused = await runCli(['setup'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `namespace ${namespace} does not exist on ${address}; rerun with --create-namespace, or have an operator run: temporal operator namespace create --namespace ${namespace} --retention 720h`,
    );

    const created = await runCli(['setup', '--create-namespace', '--retention-days', '3'], env);
    expect(created.stderr).toBe('');
    expect(created.stdout).toContain(`namespace ${namespace}: created on ${address} (retention 3 days)`);
    expect(created.stdout).toContain(`search attributes: registered PathgenRunId`);
    await expect(listFailed(namespace)).resolves.toBeDefined();
    const { stdout } = await run(requireTool('temporal'), [
      'operator',
      'namespace',
      'describe',
      '--address',
      address,
      '--namespace',
      namespace,
      '--output',
      'json',
    ]);
    expect(stdout).toMatch(/"workflowExecutionRetentionTtl":\s*"259200s"/);
  });
});
