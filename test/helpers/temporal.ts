import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { inject } from 'vitest';
import { deepMerge, formatConfigIssues, loadConfig } from '../../workers/config/load-config.js';
import type { PathgenConfig } from '../../workers/config/schema.js';

/** A client on the test run's dev server; the caller closes `connection`. */
export async function connectTestClient(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  return { client: new Client({ connection, namespace: 'default' }), connection };
}

/** Task queue names unique to one test, so tests never steal each other's tasks. */
export function uniqueQueues(label: string): { cpu: string; gpu: string; agents: string } {
  const id = `${label}-${randomUUID().slice(0, 8)}`;
  return { cpu: `${id}-cpu`, gpu: `${id}-gpu`, agents: `${id}-agents` };
}

/**
 * Config for in-process workers in a test: the test run's dev server, the test's own queues, an fs
 * store and slide cache under `dir`, a one-second shutdown grace; `overrides` on top (deep-merged).
 */
export function testWorkerConfig(
  queues: { cpu: string; gpu: string; agents: string },
  dir: string,
  overrides: Record<string, unknown> = {},
  configPath?: string,
): PathgenConfig {
  const base = {
    temporal: { address: inject('temporalAddress') },
    taskQueues: queues,
    storage: { kind: 'fs', root: path.join(dir, 'store') },
    slideCache: { dir: path.join(dir, 'cache'), maxGiB: 1 },
    workers: { cpu: { shutdownGraceSeconds: 1 } },
  };
  const result = loadConfig({ env: {}, configPath, overrides: deepMerge(base, overrides) });
  if (!result.ok) throw new Error(formatConfigIssues(result.issues));
  return result.config;
}

/** The environment of a `pathgen` CLI process on the test run's dev server, the test's queues and an fs store in `dir/store`. */
export function workerProcessEnv(
  queues: { cpu: string; gpu: string; agents: string },
  dir: string,
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    PATHGEN_TEMPORAL_ADDRESS: inject('temporalAddress'),
    PATHGEN_TASK_QUEUE_CPU: queues.cpu,
    PATHGEN_TASK_QUEUE_GPU: queues.gpu,
    PATHGEN_TASK_QUEUE_AGENTS: queues.agents,
    PATHGEN_STORAGE_ROOT: path.join(dir, 'store'),
    ...extra,
  };
}
