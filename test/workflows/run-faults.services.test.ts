import { Client, Connection } from '@temporalio/client';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ExportPointer } from '../../activities/export/export-pointer.js';
import { readExportPointer } from '../../activities/export/index.js';
import { runKeys, workflowIds } from '../../activities/contracts/keys.js';
import type { SlideRecord } from '../../activities/contracts/slide-record.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { runWorkers } from '../../workers/run-workers.js';
import type { pathgenRun } from '../../workflows/run.js';
import { progressQuery } from '../../workflows/run.js';
import { pathgenSearchAttributes } from '../../workflows/search-attributes.js';
import { readTarFiles } from '../export/tar-tools.js';
import { startWorkerProcess } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/wait-for.js';
import { connectTestClient, testWorkerConfig, uniqueQueues } from '../helpers/temporal.js';
import { freePort } from '../../infra/harness/minio-server.js';
import { requireTool } from '../../infra/harness/installed-tools.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

// Crash a worker process, and restart the Temporal server (its SQLite file), in the middle of a
// run: the run still completes, every slide exactly once in the export, no sample twice or missing.

const processes: ChildProcess[] = [];
afterEach(() => {
  for (const child of processes.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-run-faults-'));
const slideIds = ['s1', 's2', 's3', 's4'];
let manifest: string;

beforeAll(async () => {
  const rows = [];
  for (const [index, slideId] of slideIds.entries()) {
    const slide = await writeSyntheticSvs(path.join(dir, `${slideId}.svs`), {
      width: 5000,
      height: 4000,
      seed: 30 + index,
    });
    rows.push({ slideId, slide: slide.path, project: 'TCGA-LUAD', report: 'Invasive adenocarcinoma.' });
  }
  manifest = path.join(dir, 'manifest.jsonl');
  writeFileSync(manifest, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
  writeFileSync(
    path.join(dir, 'config.yaml'),
    ['select:', '  maxPerSlide: 10', 'agents:', '  batchSize: 4', 'run:', '  agentBatchesInParallel: 1', ''].join('\n'),
  );
}, 60_000);

/** Every slide completed once, and the export holds exactly their captioned samples, each key once. */
async function expectCompleteExport(store: FsObjectStore, runId: string, captions: number): Promise<void> {
  let captioned = 0;
  for (const slideId of slideIds) {
    const record = JSON.parse((await store.get(runKeys.slideRecord(runId, slideId))).toString()) as SlideRecord;
    expect(record.status, `${slideId}: ${record.message}`).toBe('completed');
    captioned += record.counts.captioned ?? 0;
  }
  expect(captions).toBe(captioned);
  const pointer = (await readExportPointer(store, `exports/${runId}`)) as ExportPointer;
  expect(pointer.samples).toBe(captioned);
  const names: string[] = [];
  for (let shard = 0; shard < pointer.shards; shard++) {
    const key = `exports/${runId}/versions/${pointer.version}/shards/shard-${String(shard).padStart(6, '0')}.tar`;
    names.push(...readTarFiles(await store.get(key)).map((file) => file.name));
  }
  const jpgs = names.filter((name) => name.endsWith('.jpg'));
  expect(jpgs).toHaveLength(captioned);
  expect(new Set(names).size).toBe(names.length);
}

describe('faults during a run', () => {
  it('a worker process killed mid-run and started again: the run completes with nothing lost or doubled', async () => {
    const queues = uniqueQueues('killed');
    const store = new FsObjectStore({ root: path.join(dir, 'store-killed') });
    const env = {
      PATHGEN_TEMPORAL_ADDRESS: inject('temporalAddress'),
      PATHGEN_TASK_QUEUE_CPU: queues.cpu,
      PATHGEN_TASK_QUEUE_GPU: queues.gpu,
      PATHGEN_TASK_QUEUE_AGENTS: queues.agents,
      PATHGEN_STORAGE_ROOT: path.join(dir, 'store-killed'),
      PATHGEN_CONFIG: path.join(dir, 'config.yaml'),
    };
    const startWorker = async () => {
      const child = await startWorkerProcess(['--queues', 'cpu,gpu,agents', '--log-level', 'WARN'], env);
      processes.push(child);
      return child;
    };
    const runId = `k-${randomUUID().slice(0, 8)}`;
    const first = await startWorker();
    const { client, connection } = await connectTestClient();
    try {
      const handle = await client.workflow.start<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [{ runId, manifest: { uri: manifest } }],
      });
      // Kill once some slide is through selection and others are still on their way.
      await waitFor(async () => (await handle.query(progressQuery)).stages.select!.done >= 1, 'a selected slide');
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));
      await startWorker();
      const result = await handle.result();
      expect(result.progress).toMatchObject({ total: 4, completed: 4, failed: 0 });
      await expectCompleteExport(store, runId, result.progress.captions);
    } finally {
      await connection.close();
    }
  }, 300_000);

  it('the Temporal server restarted mid-run (same SQLite file): the run completes', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const db = path.join(dir, 'temporal.db');
    const startServer = () => {
      const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless'];
      args.push('--db-filename', db, '--namespace', 'default', '--log-level', 'error');
      for (const key of pathgenSearchAttributes) args.push('--search-attribute', `${key.name}=Keyword`);
      const log = openSync(path.join(dir, 'temporal.log'), 'a');
      const child = spawn(requireTool('temporal'), args, { stdio: ['ignore', log, log] });
      processes.push(child);
      return child;
    };
    const connect = async () => {
      let connection: Connection | undefined;
      await waitFor(async () => {
        connection = await Connection.connect({ address, connectTimeout: 1000 });
        await connection.workflowService.getSystemInfo({});
        return true;
      }, 'the Temporal server');
      return connection!;
    };
    let server = startServer();
    let connection = await connect();
    const queues = uniqueQueues('restart');
    const store = new FsObjectStore({ root: path.join(dir, 'store-restart') });
    const config = testWorkerConfig(
      queues,
      dir,
      { temporal: { address }, storage: { kind: 'fs', root: path.join(dir, 'store-restart') } },
      path.join(dir, 'config.yaml'),
    );
    let stop!: () => void;
    const workers = runWorkers({
      config,
      roles: ['cpu', 'gpu', 'agents'],
      store,
      until: new Promise<void>((resolve) => (stop = resolve)),
    });
    const runId = `t-${randomUUID().slice(0, 8)}`;
    try {
      const handle = await new Client({ connection }).workflow.start<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [{ runId, manifest: { uri: manifest } }],
      });
      await waitFor(async () => (await handle.query(progressQuery)).stages.tile!.done >= 1, 'a tiled slide');
      await connection.close();
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
      server = startServer();
      connection = await connect();
      const result = await new Client({ connection }).workflow.getHandle<typeof pathgenRun>(handle.workflowId).result();
      expect(result.progress).toMatchObject({ total: 4, completed: 4, failed: 0 });
      await expectCompleteExport(store, runId, result.progress.captions);
    } finally {
      stop();
      await workers;
      await connection.close();
      server.kill('SIGTERM');
    }
  }, 300_000);
});

afterAll(() => {
  for (const child of processes.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
