import { Worker } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readExportPointer } from '../../activities/export/index.js';
import type { ExportPointer } from '../../activities/export/export-pointer.js';
import { runKeys, workflowIds } from '../../activities/contracts/keys.js';
import type { SlideRecord } from '../../activities/contracts/slide-record.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { runWorkers } from '../../workers/run-workers.js';
import type { pathgenRun, PathgenRunInput } from '../../workflows/run.js';
import { connectTestClient, testWorkerConfig, uniqueQueues } from '../helpers/temporal.js';
import { repoRoot, requireTool } from '../../infra/harness/installed-tools.js';
import { readTarFiles } from '../export/tar-tools.js';
import { writeBrokenVariants, writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

// The durable run on the real dev server: a small cohort with good and bad slides through every
// stage with the built-in agents and model-free selection, the export, visibility queries, and a
// rerun of failed slides after one is repaired.

describe('pathgenRun on a real Temporal server', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-run-wf-'));
  const queues = uniqueQueues('run');
  const store = new FsObjectStore({ root: path.join(dir, 'store') });
  let stop!: () => void;
  let workers: Promise<void>;
  const slides: Record<string, string> = {};

  beforeAll(async () => {
    for (const [name, seed] of [
      ['good-a', 11],
      ['good-b', 12],
    ] as const) {
      slides[name] = (await writeSyntheticSvs(path.join(dir, `${name}.svs`), { width: 5000, height: 4000, seed })).path;
    }
    const broken = await writeBrokenVariants(slides['good-a']!, dir);
    slides.corrupt = broken.truncated;
    slides.blank = (
      await writeSyntheticSvs(path.join(dir, 'blank.svs'), { width: 3000, height: 2000, seed: 13, blobs: 0 })
    ).path;
    const config = testWorkerConfig(queues, dir, { select: { maxPerSlide: 6 }, run: { export: { csv: false } } });
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    workers = runWorkers({ config, roles: ['cpu', 'gpu', 'agents'], store, until: stopped });
  }, 120_000);

  afterAll(async () => {
    stop();
    await workers;
  });

  it('runs a cohort, records each bad slide with its reason, exports, and reruns a repaired slide', async () => {
    const runId = `r-${randomUUID().slice(0, 8)}`;
    const missing = path.join(dir, 'missing.svs');
    const manifest = path.join(dir, 'manifest.jsonl');
    const rows = [
      {
        slideId: 'good-a',
        slide: slides['good-a'],
        project: 'TCGA-LUAD',
        report: 'Invasive adenocarcinoma, acinar predominant.',
      },
      { slideId: 'good-b', slide: slides['good-b'], project: 'COAD' },
      { slideId: 'corrupt', slide: slides.corrupt, project: 'TCGA-BRCA' },
      { slideId: 'missing', slide: missing, project: 'TCGA-BRCA' },
      { slideId: 'blank', slide: slides.blank, project: 'TCGA-BRCA' },
      { slideId: 'bad row', slide: slides['good-a'], project: 'TCGA-NOPE' },
    ];
    writeFileSync(manifest, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
    const { client, connection } = await connectTestClient();
    try {
      const input: PathgenRunInput = { runId, manifest: { uri: manifest } };
      const result = await client.workflow.execute<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [input],
      });
      const { progress } = result;
      expect(progress).toMatchObject({ total: 6, completed: 2, failed: 4, phase: 'done' });
      expect(progress.failuresByReason).toEqual({
        InvalidManifestRow: 1,
        SlideUnreadable: 1,
        SlideNotFound: 1,
        NoTissue: 1,
      });
      expect(progress.captions).toBeGreaterThan(0);
      expect(progress.export?.samples).toBe(progress.captions);

      const good = JSON.parse((await store.get(runKeys.slideRecord(runId, 'good-a'))).toString()) as SlideRecord;
      expect(good.status).toBe('completed');
      expect(good.samples.length).toBeGreaterThan(0);
      const missingRecord = JSON.parse(
        (await store.get(runKeys.slideRecord(runId, 'missing'))).toString(),
      ) as SlideRecord;
      expect(missingRecord).toMatchObject({ status: 'failed', reason: 'SlideNotFound' });

      // Failed slides of the run, by visibility query (eventually consistent on the dev server).
      const query = `PathgenRunId = '${runId}' AND PathgenStatus = 'failed'`;
      let failedIds: string[] = [];
      for (let attempt = 0; attempt < 50 && failedIds.length < 3; attempt++) {
        failedIds = [];
        for await (const execution of client.workflow.list({ query })) failedIds.push(execution.workflowId);
        if (failedIds.length < 3) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(failedIds.sort()).toEqual(
        ['blank', 'corrupt', 'missing'].map((slideId) => workflowIds.slide(runId, slideId)).sort(),
      );

      const pointer = (await readExportPointer(store, `exports/${runId}`)) as ExportPointer;
      const firstVersion = pointer.version;
      const shard = await store.get(`exports/${runId}/versions/${pointer.version}/shards/shard-000000.tar`);
      const members = readTarFiles(shard).map((file) => file.name);
      expect(members.filter((name) => name.endsWith('.jpg'))).toHaveLength(progress.captions);
      expect(members.filter((name) => name.endsWith('.txt'))).toHaveLength(progress.captions);

      // Both workflows' histories replay against the current code; PATHGEN_RECORD_HISTORIES=1 saves them
      // as the committed replay fixtures (test/histories/README.md).
      for (const [workflowId, name] of [
        [workflowIds.run(runId), 'pathgen-run'],
        [workflowIds.slide(runId, 'good-a'), 'pathgen-slide'],
      ] as const) {
        const history = await client.workflow.getHandle(workflowId).fetchHistory();
        await Worker.runReplayHistory({ workflowsPath: path.join(repoRoot, 'workflows', 'index.ts') }, history);
        if (process.env.PATHGEN_RECORD_HISTORIES === '1') {
          const json = execFileSync(
            requireTool('temporal'),
            [
              'workflow',
              'show',
              '--address',
              inject('temporalAddress'),
              '--workflow-id',
              workflowId,
              '--output',
              'json',
            ],
            { encoding: 'utf8' },
          );
          writeFileSync(path.join(repoRoot, 'test', 'histories', `${name}.json`), json);
        }
      }

      // Repair the missing slide and rerun only what failed for that reason: a new execution of the run.
      copyFileSync(slides['good-b']!, missing);
      const rerun = await client.workflow.execute<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [{ runId, manifest: { uri: manifest }, rerunFailed: { reason: 'SlideNotFound' } }],
      });
      expect(rerun.progress).toMatchObject({ total: 1, completed: 1, failed: 0 });
      // The rerun keeps the first execution's record of bad manifest rows.
      const badRows = (await store.get(`runs/${runId}/manifest-errors.jsonl`)).toString().trim().split('\n');
      expect(badRows).toHaveLength(1);
      expect(badRows[0]).toContain('bad row');
      const repaired = JSON.parse((await store.get(runKeys.slideRecord(runId, 'missing'))).toString()) as SlideRecord;
      expect(repaired.status).toBe('completed');
      const after = (await readExportPointer(store, `exports/${runId}`)) as ExportPointer;
      expect(after.version).not.toBe(firstVersion);
      expect(after.samples).toBe(progress.captions + repaired.counts.captioned!);
    } finally {
      await connection.close();
    }
  }, 240_000);

  it('materializes a PathGen-format JSON from local slides and exports the same records', async () => {
    const runId = `m-${randomUUID().slice(0, 8)}`;
    const records = [
      {
        wsi_id: 'TCGA-AA-0001-01Z-00-DX1.ABC',
        position: ['672', '1344'],
        caption: 'Dense tumour cells.',
        file_id: 'f1',
      },
      { wsi_id: 'TCGA-AA-0001-01Z-00-DX1.ABC', position: ['1344', '1344'], caption: 'Stroma.', file_id: 'f1' },
      { wsi_id: 'TCGA-BB-0002-01Z-00-DX1.DEF', position: ['0', '0'], caption: 'Glass corner.', file_id: 'f2' },
      { wsi_id: 'TCGA-ZZ-9999-01Z-00-DX1.NOPE', position: ['0', '0'], caption: 'Unknown slide.', file_id: 'f3' },
    ];
    const json = path.join(dir, `${runId}.json`);
    writeFileSync(json, JSON.stringify(records));
    const lookup = path.join(dir, `${runId}-lookup.csv`);
    writeFileSync(
      lookup,
      `wsi_id,slide\nTCGA-AA-0001-01Z-00-DX1.ABC,${slides['good-a']}\nTCGA-BB-0002-01Z-00-DX1.DEF,${slides['good-b']}\n`,
    );
    const { client, connection } = await connectTestClient();
    try {
      const result = await client.workflow.execute<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [{ runId, materialize: { pathgenJson: json, lookup } }],
      });
      expect(result.progress).toMatchObject({ total: 2, completed: 2, failed: 0, captions: 3 });
      expect(result.progress.patchFailuresByReason).toEqual({ UnknownWsiId: 1 });
      const pointer = (await readExportPointer(store, `exports/${runId}`)) as ExportPointer;
      const exported = JSON.parse(
        (await store.get(`exports/${runId}/versions/${pointer.version}/pathgen.json`)).toString(),
      ) as typeof records;
      const sortKey = (record: (typeof records)[number]) => `${record.wsi_id} ${record.position.join(' ')}`;
      expect(exported.map(sortKey).sort()).toEqual(records.slice(0, 3).map(sortKey).sort());
      expect(exported.find((record) => record.caption === 'Stroma.')).toMatchObject({ file_id: 'f1' });
    } finally {
      await connection.close();
    }
  }, 120_000);
});
