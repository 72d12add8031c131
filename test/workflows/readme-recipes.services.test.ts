import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readExportPointer } from '../../activities/export/index.js';
import { runKeys } from '../../activities/contracts/keys.js';
import type { SlideRecord } from '../../activities/contracts/slide-record.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { writeDemoCohort } from '../../workers/demo/index.js';
import { runWorkers } from '../../workers/run-workers.js';
import { connectTestClient, testWorkerConfig, uniqueQueues } from '../helpers/temporal.js';
import { repoRoot, requireTool } from '../../infra/harness/installed-tools.js';

// The README's Temporal CLI recipes, run exactly as written (only the task queue, the run id and the
// example file paths are swapped for this test's own), against the real dev server and workers.

const run = promisify(execFile);

function recipes(): string[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const block = /<!-- recipes:start -->\s*```sh\n([\s\S]*?)```\s*<!-- recipes:end -->/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no recipes block');
  return block.split('\n').filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
}

describe('README recipes', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-recipes-'));
  const queues = uniqueQueues('recipes');
  const store = new FsObjectStore({ root: path.join(dir, 'store') });
  const runId = `ex-${randomUUID().slice(0, 8)}`;
  const missing = path.join(dir, 'missing.svs');
  let stop!: () => void;
  let workers: Promise<void>;
  let firstSlide: string;

  beforeAll(async () => {
    const cohort = await writeDemoCohort(path.join(dir, 'slides'), { slides: 3 });
    firstSlide = cohort.slides[0]!.path;
    const rows = [...cohort.manifestRows, { slideId: 'missing-1', slide: missing, project: 'TCGA-BRCA' }];
    writeFileSync(path.join(dir, 'manifest.jsonl'), rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
    writeFileSync(
      path.join(dir, 'run.json'),
      JSON.stringify({ runId, manifest: { uri: path.join(dir, 'manifest.jsonl') } }),
    );
    workers = runWorkers({
      config: testWorkerConfig(queues, dir),
      roles: ['cpu', 'gpu', 'agents'],
      store,
      until: new Promise<void>((resolve) => (stop = resolve)),
    });
  }, 120_000);

  afterAll(async () => {
    stop();
    await workers;
  });

  it('start, query, pause/resume/concurrency, result, list failed, rerun failed, reset a slide, export', async () => {
    const lines = recipes().map((line) =>
      line
        .replaceAll('--task-queue pathgen ', `--task-queue ${queues.cpu} `)
        .replaceAll('infra/examples/run.json', path.join(dir, 'run.json'))
        .replaceAll('.pathgen/demo/manifest.jsonl', path.join(dir, 'manifest.jsonl'))
        .replaceAll('example-1', runId),
    );
    expect(lines).toHaveLength(10);
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      PATH: `${path.dirname(requireTool('temporal'))}:${process.env.PATH ?? ''}`,
    };
    const shell = async (line: string) => {
      try {
        return (await run('bash', ['-o', 'pipefail', '-c', line], { env, cwd: repoRoot })).stdout;
      } catch (error) {
        const failed = error as { stdout?: string; stderr?: string };
        throw new Error(`recipe failed: ${line}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`);
      }
    };
    const [start, query, pause, resume, concurrency, result, listFailed, rerun, reset, exportRun] = lines as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    await shell(start);
    expect(await shell(query)).toMatch(/total/);
    expect(await shell(pause)).toMatch(/paused/);
    expect(await shell(resume)).toMatch(/paused/);
    expect(await shell(concurrency)).toMatch(/maxInFlight/);
    expect(await shell(result)).toMatch(/COMPLETED/);

    let listed = '';
    for (let attempt = 0; attempt < 50 && !listed.includes('missing-1'); attempt++) {
      listed = await shell(listFailed);
      if (!listed.includes('missing-1')) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(listed).toContain(`pathgen-slide-${runId}-missing-1`);
    const exportedBefore = await readExportPointer(store, `exports/${runId}`);

    copyFileSync(firstSlide, missing);
    await shell(rerun);
    const repaired = JSON.parse((await store.get(runKeys.slideRecord(runId, 'missing-1'))).toString()) as SlideRecord;
    expect(repaired.status).toBe('completed');

    await shell(reset);
    const { client, connection } = await connectTestClient();
    try {
      const slide = await client.workflow.getHandle(`pathgen-slide-${runId}-demo-001-dense-tumour`).result();
      expect(slide).toMatchObject({ status: 'completed' });
    } finally {
      await connection.close();
    }
    await shell(exportRun);
    const exportedAfter = await readExportPointer(store, `exports/${runId}`);
    expect(exportedAfter?.version).not.toBe(exportedBefore?.version);
    expect(exportedAfter!.samples).toBeGreaterThan(exportedBefore!.samples);
  }, 300_000);
});
