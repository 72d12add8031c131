import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../activities/contracts/keys.js';
import { readExportPointer } from '../../activities/export/index.js';
import type { ExportPointer } from '../../activities/export/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { writeDemoCohort } from '../../workers/demo/index.js';
import { runWorkers } from '../../workers/run-workers.js';
import type { pathgenRun } from '../../workflows/run.js';
import { readTarFiles } from '../export/tar-tools.js';
import { runCli } from '../helpers/cli-process.js';
import { connectTestClient, testWorkerConfig, uniqueQueues, workerProcessEnv } from '../helpers/temporal.js';

// The review recipe on the real dev server: a demo-like run of two synthetic slides, then
// `pathgen review flag` on one sample, `review edit` on another and `review apply`, which re-exports
// through pathgenExport: the new version's shards lack the flagged key and carry the edited
// caption, and the previous version is still there to read.

describe('pathgen review apply on a real Temporal server', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-review-apply-'));
  const queues = uniqueQueues('review');
  const store = new FsObjectStore({ root: path.join(dir, 'store') });
  let stop!: () => void;
  let workers: Promise<void>;

  beforeAll(() => {
    const config = testWorkerConfig(queues, dir, { select: { maxPerSlide: 6 }, run: { export: { csv: false } } });
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    workers = runWorkers({ config, roles: ['cpu', 'gpu', 'agents'], store, until: stopped });
  });
  afterAll(async () => {
    stop();
    await workers;
  });

  async function shardFiles(pointer: ExportPointer): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    for (let index = 0; index < pointer.shards; index++) {
      const shard = await store.get(`${pointer.prefix}shards/shard-${String(index).padStart(6, '0')}.tar`);
      for (const member of readTarFiles(shard)) files.set(member.name, member.data.toString('utf8'));
    }
    return files;
  }

  it('flags, edits and re-exports a new version that honours both', async () => {
    const runId = `demo-review-${randomUUID().slice(0, 8)}`;
    const cohort = await writeDemoCohort(path.join(dir, 'slides'), { slides: 2, seed: 0 });
    const manifest = path.join(dir, 'manifest.jsonl');
    writeFileSync(manifest, cohort.manifestRows.map((row) => JSON.stringify(row)).join('\n') + '\n');
    const { client, connection } = await connectTestClient();
    try {
      await client.workflow.execute<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [{ runId, manifest: { uri: manifest } }],
      });
    } finally {
      await connection.close();
    }
    const before = (await readExportPointer(store, `exports/${runId}`))!;
    const generated = await shardFiles(before);
    const keys = [...generated.keys()].filter((name) => name.endsWith('.txt')).map((name) => name.slice(0, -4));
    expect(keys.length).toBeGreaterThan(2);
    const [flagged, edited] = [keys[0]!, keys.at(-1)!];
    const caption = 'Reviewed: glands with crowded nuclei in a fibrous stroma.';

    const env = workerProcessEnv(queues, dir, { PATHGEN_REVIEWER: 'ana@lab' });
    const flag = await runCli(['review', 'flag', '--run', runId, '--key', flagged, '--reason', 'blurred'], env);
    expect(flag.code, flag.stderr).toBe(0);
    const edit = await runCli(['review', 'edit', '--run', runId, '--key', edited, '--caption', caption], env);
    expect(edit.code, edit.stderr).toBe(0);
    const apply = await runCli(['review', 'apply', '--run', runId], env, 240_000);
    expect(apply.code, apply.stderr).toBe(0);

    const after = (await readExportPointer(store, `exports/${runId}`))!;
    expect(after.version).not.toBe(before.version);
    expect(after.previousVersions).toContain(before.version);
    expect(apply.stdout).toBe(
      `exported ${runId} version ${after.version}: ${keys.length - 1} samples (1 flagged left out, 1 edited)\n`,
    );
    const exported = await shardFiles(after);
    expect(exported.has(`${flagged}.txt`)).toBe(false);
    expect(exported.has(`${flagged}.jpg`)).toBe(false);
    expect(exported.get(`${edited}.txt`)).toBe(caption);
    expect(JSON.parse(exported.get(`${edited}.json`)!)).toMatchObject({
      review: { caption, generatedCaption: generated.get(`${edited}.txt`), editedBy: 'ana@lab' },
    });
    // The previous version is untouched and readable beside the new one.
    expect(await shardFiles(before)).toEqual(generated);
  }, 300_000);
});
