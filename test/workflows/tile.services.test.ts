import { WorkflowFailedError } from '@temporalio/client';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listAll } from '../../activities/store/object-store.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import type { S3ObjectStore } from '../../activities/store/s3-store.js';
import { newMinioStore } from '../helpers/minio-store.js';
import type { TilingOptions } from '../../activities/contracts/run-settings.js';
import type { TileSlideInput } from '../../activities/stages/tile.js';
import { loadConfig } from '../../workers/config/load-config.js';
import type { PathgenConfig } from '../../workers/config/schema.js';
import { runWorkers } from '../../workers/run-workers.js';
import type { pathgenTile } from '../../workflows/tile.js';
import { spawnCli } from '../helpers/cli-process.js';
import { connectTestClient, uniqueQueues } from '../helpers/temporal.js';
import { writeBrokenVariants, writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

const tiling: TilingOptions = {
  patchSize: 672,
  level: 0,
  minTissueFraction: 0.5,
  thumbnailDownsample: 32,
  seed: 0,
  writePatches: false,
};

function configFor(queues: PathgenConfig['taskQueues'], cacheDir: string): PathgenConfig {
  const result = loadConfig({
    env: {},
    overrides: {
      temporal: { address: inject('temporalAddress') },
      taskQueues: queues,
      slideCache: { dir: cacheDir, maxGiB: 1 },
      workers: { cpu: { shutdownGraceSeconds: 1 } },
    },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.config;
}

describe('pathgenTile on a real Temporal server', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-tile-wf-'));
  const queues = uniqueQueues('tile');
  let s3: S3ObjectStore;
  let stop!: () => void;
  let workers: Promise<void>;
  let slidePath: string;

  beforeAll(async () => {
    s3 = await newMinioStore('tile');
    slidePath = (await writeSyntheticSvs(path.join(dir, 'slide.svs'), { width: 6000, height: 4000, seed: 7 })).path;
    // The MinIO store is handed to the workers directly; the config's own storage is not used.
    const config = configFor(queues, path.join(dir, 'cache'));
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    workers = runWorkers({ config, roles: ['cpu'], store: s3, until: stopped });
  });

  afterAll(async () => {
    stop();
    await workers;
  });

  async function runTile(input: TileSlideInput) {
    const { client, connection } = await connectTestClient();
    try {
      return await client.workflow.execute<typeof pathgenTile>('pathgenTile', {
        taskQueue: queues.cpu,
        workflowId: `tile-${randomUUID()}`,
        args: [input],
      });
    } finally {
      await connection.close();
    }
  }

  it('tiles a slide staged from the store, writes its outputs, and reuses a complete result', async () => {
    await s3.put('incoming/slide.svs', readFileSync(slidePath));
    const first = await runTile({ slideId: 'slide-a', slide: `${s3.description}incoming/slide.svs`, tiling });
    expect(first.reused).toBe(false);
    expect(first.candidates).toBeGreaterThan(5);
    const lines = (await s3.get(first.keys.candidates)).toString().trim().split('\n');
    expect(lines).toHaveLength(first.candidates);
    for (const line of lines) {
      const candidate = JSON.parse(line) as { x: number; y: number; width: number; height: number; tissue: number };
      expect(candidate.x + candidate.width).toBeLessThanOrEqual(6000);
      expect(candidate.y + candidate.height).toBeLessThanOrEqual(4000);
      expect(candidate.tissue).toBeGreaterThan(0.5);
    }
    const metadata = JSON.parse((await s3.get(first.keys.metadata)).toString()) as { slide: { mpp: { x: number } } };
    expect(metadata.slide.mpp.x).toBeCloseTo(0.25);
    expect((await s3.get(first.keys.thumbnail)).subarray(1, 4).toString()).toBe('PNG');

    const again = await runTile({ slideId: 'slide-a', slide: `${s3.description}incoming/slide.svs`, tiling });
    expect(again).toEqual({ ...first, reused: true });
  });

  it('ends a broken slide at once with its typed, non-retryable failure', async () => {
    const broken = await writeBrokenVariants(slidePath, dir);
    for (const [file, type] of [
      [broken.truncated, 'SlideUnreadable'],
      [broken.text, 'SlideUnreadable'],
      [path.join(dir, 'absent.svs'), 'SlideNotFound'],
    ] as const) {
      const started = Date.now();
      const failure = await runTile({ slideId: 'broken', slide: file, tiling }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const cause = (failure as WorkflowFailedError).cause?.cause as
        { type?: string; nonRetryable?: boolean } | undefined;
      expect(cause?.type, file).toBe(type);
      expect(Date.now() - started).toBeLessThan(15_000);
    }
  });
});

describe('pathgenTile resume after a killed worker', () => {
  const children: ChildProcessWithoutNullStreams[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  function startWorker(env: NodeJS.ProcessEnv, configPath: string): Promise<ChildProcessWithoutNullStreams> {
    const child = spawnCli(['--config', configPath, 'worker', '--queues', 'cpu', '--log-level', 'ERROR'], env);
    children.push(child);
    child.stdout.resume();
    return new Promise((resolve, reject) => {
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('polling')) resolve(child);
      });
      child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${stderr}`)));
    });
  }

  it('continues from the heartbeated patch and gives the same result as a clean run', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-tile-resume-'));
    const slide = await writeSyntheticSvs(path.join(dir, 'large.svs'), { width: 12000, height: 9000, seed: 11 });
    const queues = uniqueQueues('tile-resume');
    const storeRoot = path.join(dir, 'store');
    const configPath = path.join(dir, 'config.yaml');
    writeFileSync(
      configPath,
      `slideCache:\n  dir: ${path.join(dir, 'cache')}\nworkers:\n  cpu:\n    heartbeatThrottleSeconds: 0.2\n`,
    );
    const env = {
      PATHGEN_TEMPORAL_ADDRESS: inject('temporalAddress'),
      PATHGEN_TASK_QUEUE_CPU: queues.cpu,
      PATHGEN_STORAGE_ROOT: storeRoot,
    };
    const input: TileSlideInput = {
      slideId: 'large',
      slide: slide.path,
      tiling: { ...tiling, writePatches: true },
      outputPrefix: 'resumed',
    };

    const first = await startWorker(env, configPath);
    const { client, connection } = await connectTestClient();
    try {
      const handle = await client.workflow.start<typeof pathgenTile>('pathgenTile', {
        taskQueue: queues.cpu,
        workflowId: `tile-resume-${randomUUID()}`,
        args: [input],
      });
      // Wait until the activity has heartbeated that it is part-way through the patches.
      let resumeFrom = 0;
      const deadline = Date.now() + 60_000;
      while (resumeFrom < 10) {
        if (Date.now() > deadline) throw new Error('no patch heartbeat within 60 s');
        const pending = (await handle.describe()).raw.pendingActivities?.[0];
        const payload = pending?.heartbeatDetails?.payloads?.[0]?.data;
        if (payload) {
          const details = JSON.parse(Buffer.from(payload).toString()) as { phase: string; next?: number };
          if (details.phase === 'patches') resumeFrom = details.next ?? 0;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      first.kill('SIGKILL');
      const killedAt = Date.now();
      await startWorker(env, configPath);
      const resumed = await handle.result();

      // The same input, tiled cleanly elsewhere in the store, for comparison.
      const clean = await client.workflow.execute<typeof pathgenTile>('pathgenTile', {
        taskQueue: queues.cpu,
        workflowId: `tile-clean-${randomUUID()}`,
        args: [{ ...input, outputPrefix: 'clean' }],
      });
      expect(resumed).toEqual({ ...clean, prefix: 'resumed', keys: expect.any(Object) });
      expect(resumed.patchesWritten).toBe(resumed.candidates);

      const store: ObjectStore = new FsObjectStore({ root: storeRoot });
      const resumedPatches = await collect(store, 'resumed/patches/');
      const cleanPatches = await collect(store, 'clean/patches/');
      expect(resumedPatches.size).toBe(resumed.candidates);
      expect([...resumedPatches.keys()]).toEqual([...cleanPatches.keys()]);
      for (const [name, bytes] of resumedPatches) expect(bytes.equals(cleanPatches.get(name)!), name).toBe(true);
      expect((await store.get('resumed/candidates.jsonl')).equals(await store.get('clean/candidates.jsonl'))).toBe(
        true,
      );

      // Patches before the heartbeated cursor were not written again by the second worker.
      const candidates = (await store.get('resumed/candidates.jsonl')).toString().trim().split('\n');
      const early = JSON.parse(candidates[0]!) as { x: number; y: number };
      expect((await store.head(`resumed/patches/${early.x}_${early.y}.png`))!.lastModified.getTime()).toBeLessThan(
        killedAt,
      );
    } finally {
      await connection.close();
    }
  }, 180_000);
});

async function collect(store: ObjectStore, prefix: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for await (const object of listAll(store, prefix))
    out.set(object.key.slice(prefix.length), await store.get(object.key));
  return out;
}
