import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatConfigIssues, loadConfig } from '../../workers/config/load-config.js';
import { runCli } from '../helpers/cli-process.js';

function writeTemp(name: string, text: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pathgen-config-')), name);
  writeFileSync(file, text);
  return file;
}

const badYaml = `
temporal:
  address: 7233
  namespace: [a, b]
storage:
  kind: gcs
  root: /data
workers:
  cpu:
    maxConcurrentActivities: "four"
    extra: 1
`;

describe('loadConfig', () => {
  it('gives the embedded defaults with no file and no environment', () => {
    const result = loadConfig({ env: {} });
    expect(result).toEqual({
      ok: true,
      config: expect.objectContaining({
        temporal: { address: '127.0.0.1:7233', namespace: 'default', tls: false },
        taskQueues: { cpu: 'pathgen', gpu: 'pathgen-gpu', agents: 'pathgen-agents' },
        storage: { kind: 'fs', root: '.pathgen/store' },
      }),
    });
  });

  it('applies defaults < file < environment < overrides', () => {
    const file = writeTemp(
      'config.yaml',
      'temporal:\n  address: file:7233\n  namespace: from-file\nworkers:\n  gpu:\n    maxConcurrentActivities: 2\n',
    );
    const result = loadConfig({
      configPath: file,
      env: { PATHGEN_TEMPORAL_ADDRESS: 'env:7233', PATHGEN_GPU_CONCURRENCY: '3' },
      overrides: { temporal: { namespace: 'from-code' } },
    });
    if (!result.ok) throw new Error(formatConfigIssues(result.issues));
    expect(result.config.temporal).toMatchObject({ address: 'env:7233', namespace: 'from-code' });
    expect(result.config.workers.gpu.maxConcurrentActivities).toBe(3);
    expect(result.config.workers.cpu.maxConcurrentActivities).toBe(4);
  });

  it('switching the storage kind from the environment replaces the file storage section', () => {
    const file = writeTemp('config.json', JSON.stringify({ storage: { kind: 'fs', root: '/data/store' } }));
    const result = loadConfig({
      configPath: file,
      env: {
        PATHGEN_STORAGE_KIND: 's3',
        PATHGEN_S3_ENDPOINT: 'minio.lab',
        PATHGEN_S3_BUCKET: 'slides',
        PATHGEN_S3_USE_SSL: 'false',
      },
    });
    if (!result.ok) throw new Error(formatConfigIssues(result.issues));
    expect(result.config.storage).toMatchObject({ kind: 's3', endpoint: 'minio.lab', bucket: 'slides', useSSL: false });
  });

  it('names every bad field by path and why, including an unknown storage kind', () => {
    const result = loadConfig({ configPath: writeTemp('bad.yaml', badYaml), env: {} });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.issues.map((issue) => [issue.path, issue.message]));
    expect(byPath).toEqual({
      'temporal.address': 'expected string, got number 7233',
      'temporal.namespace': 'expected string, got an array',
      'storage.kind': 'unknown kind the string "gcs" (expected "fs" | "s3")',
      'workers.cpu.maxConcurrentActivities': 'expected number, got the string "four"',
      'workers.cpu': 'unknown key "extra"',
    });
  });

  it('names the environment variable that holds a bad value', () => {
    const result = loadConfig({ env: { PATHGEN_S3_PORT: 'ninety', PATHGEN_S3_USE_SSL: 'maybe' } });
    expect(result).toEqual({
      ok: false,
      issues: [
        { path: 'storage.port', message: 'expected an integer, got "ninety"', source: 'PATHGEN_S3_PORT' },
        { path: 'storage.useSSL', message: 'expected true or false, got "maybe"', source: 'PATHGEN_S3_USE_SSL' },
      ],
    });
  });

  it('reports unreadable and malformed files', () => {
    const missing = loadConfig({ configPath: '/no/such/config.yaml', env: {} });
    expect(missing.ok || missing.issues[0]?.message).toMatch(/cannot read config file/);
    const malformed = loadConfig({ configPath: writeTemp('bad.json', '{"temporal": '), env: {} });
    expect(malformed.ok || malformed.issues[0]?.message).toMatch(/not valid JSON/);
    const list = loadConfig({ configPath: writeTemp('list.yaml', '- a\n- b\n'), env: {} });
    expect(list.ok || list.issues[0]?.message).toMatch(/object at the top level/);
  });
});

describe('pathgen CLI with a bad config', () => {
  it('prints one readable message listing every bad field and exits 2, with no stack trace', async () => {
    const result = await runCli(['--config', writeTemp('bad.yaml', badYaml), 'doctor']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('invalid configuration (5 problems)');
    for (const field of [
      'temporal.address',
      'temporal.namespace',
      'storage.kind',
      'workers.cpu.maxConcurrentActivities',
      'workers.cpu:',
    ]) {
      expect(result.stderr).toContain(`- ${field}`);
    }
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects an unknown queue role with exit 2', async () => {
    const result = await runCli(['worker', '--queues', 'cpu,tpu']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--queues takes a comma-separated list of cpu, gpu, agents');
  });

  it('has --help on every command', async () => {
    for (const args of [['--help'], ['worker', '--help'], ['doctor', '--help'], ['store', 'init', '--help']]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toContain('Usage: pathgen');
    }
  });
});
