import { WorkflowUpdateFailedError } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runKeys, workflowIds } from '../../activities/contracts/keys.js';
import type { SlideRecord } from '../../activities/contracts/slide-record.js';
import type { ExportPointer } from '../../activities/export/export-pointer.js';
import { readExportPointer } from '../../activities/export/index.js';
import { sampleKey } from '../../activities/export/sample-key.js';
import { recordReview } from '../../activities/review/index.js';
import { requireTool } from '../../infra/harness/installed-tools.js';
import type { pathgenRun } from '../../workflows/run.js';
import { approveExportUpdate, progressQuery } from '../../workflows/run.js';
import { readTarFiles } from '../export/tar-tools.js';
import { connectTestClient } from '../helpers/temporal.js';
import { startGatedRunWorkers, type GatedRunWorkers } from '../helpers/gated-run-workers.js';
import { waitFor } from '../helpers/wait-for.js';

const run = promisify(execFile);

// The human review gate on the real dev server: the run waits after its slides; an approval while
// the reviewed sample is incomplete, or too much of it is flagged, is refused with the reason; an
// accepted one exports, without the flagged sample.

describe('pathgenRun with a review gate', () => {
  let queues: GatedRunWorkers['queues'];
  let store: GatedRunWorkers['store'];
  let manifest: string;
  let workers: GatedRunWorkers;

  beforeAll(async () => {
    workers = await startGatedRunWorkers('gate', [
      ['g1', 71],
      ['g2', 72],
    ]);
    ({ queues, store, manifest } = workers);
  }, 120_000);

  afterAll(async () => {
    await workers?.stop();
  });

  it('waits for approveExport, refuses it with the reason until the review is done, then exports', async () => {
    const runId = `gate-${randomUUID().slice(0, 8)}`;
    const { client, connection } = await connectTestClient();
    try {
      const handle = await client.workflow.start<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [
          {
            runId,
            manifest: { uri: manifest },
            settings: { review: { gate: { samplesPerSlide: 2, maxFlagRate: 0.25 } } },
          },
        ],
      });
      await waitFor(async () => (await handle.query(progressQuery)).phase === 'awaiting-review', 'the review wait');
      const waiting = await handle.query(progressQuery);
      expect(waiting).toMatchObject({ completed: 2, failed: 0, review: { samplesPerSlide: 2, maxFlagRate: 0.25 } });
      expect(waiting.review?.status).toMatch(/^waiting for review/);
      expect(waiting.export).toBeUndefined();
      expect((await handle.describe()).searchAttributes.PathgenStatus).toEqual(['awaiting-review']);

      const refusal = async () => {
        const error = await handle.executeUpdate(approveExportUpdate, { args: [{ by: 'tester' }] }).catch((e) => e);
        expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
        return String((error as WorkflowUpdateFailedError).cause?.message);
      };
      expect(await refusal()).toBe(
        'the reviewed sample is incomplete: 2 of 2 slides need more reviews (g1: 0 of 2 reviewed, g2: 0 of 2 reviewed); the gate asks for 2 per slide',
      );

      const keys: Record<string, string[]> = {};
      for (const slideId of ['g1', 'g2']) {
        const record = JSON.parse((await store.get(runKeys.slideRecord(runId, slideId))).toString()) as SlideRecord;
        keys[slideId] = record.samples
          .filter((sample) => sample.failure === undefined && sample.recordKey !== undefined)
          .map((sample) => sampleKey(slideId, sample.x, sample.y));
        expect(keys[slideId].length).toBeGreaterThanOrEqual(2);
      }
      let nonce = 0;
      const review = (key: string, action: 'accept' | 'flag') =>
        recordReview(
          { store, countTokens: () => 10, nonce: () => `n${nonce++}` },
          { runId, key, action, reviewer: 'tester', ...(action === 'flag' ? { reason: 'not tissue' } : {}) },
        );
      await review(keys.g1![0]!, 'flag');
      await review(keys.g1![1]!, 'flag');
      await review(keys.g2![0]!, 'accept');
      await review(keys.g2![1]!, 'accept');
      expect(await refusal()).toBe(
        "2 of 4 reviewed samples are flagged (50.0 %), above the gate's 25.0 %: fix or drop samples, or review more",
      );
      expect((await handle.query(progressQuery)).phase).toBe('awaiting-review');

      // A second look: one flag was wrong.
      await review(keys.g1![1]!, 'accept');
      // The README's recipe: the Temporal CLI sends the same update.
      const { stdout } = await run(requireTool('temporal'), [
        'workflow',
        'update',
        'execute',
        '--address',
        inject('temporalAddress'),
        '--workflow-id',
        workflowIds.run(runId),
        '--name',
        'approveExport',
        '--input',
        '{"by": "tester"}',
      ]);
      expect(stdout).toContain('review complete: 4 samples reviewed on 2 slides, 1 flagged (25.0 %, at most 25.0 %)');
      const result = await handle.result();
      expect(result.progress).toMatchObject({ phase: 'done', review: { approvedBy: 'tester' } });

      const pointer = (await readExportPointer(store, `exports/${runId}`)) as ExportPointer;
      const shard = await store.get(`exports/${runId}/versions/${pointer.version}/shards/shard-000000.tar`);
      const names = readTarFiles(shard).map((file) => file.name);
      expect(names).not.toContain(`${keys.g1![0]}.txt`);
      expect(names).toContain(`${keys.g1![1]}.txt`);
      expect(pointer.samples).toBe(result.progress.captions - 1);
    } finally {
      await connection.close();
    }
  }, 300_000);

  it('refuses approveExport on a run without a gate', async () => {
    const runId = `nogate-${randomUUID().slice(0, 8)}`;
    const { client, connection } = await connectTestClient();
    try {
      const handle = await client.workflow.start<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [{ runId, manifest: { uri: manifest } }],
      });
      const error = await handle.executeUpdate(approveExportUpdate, { args: [{}] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((error as WorkflowUpdateFailedError).cause?.message).toMatch(
        /^run is not waiting for review \(phase \w+; its settings have no review\.gate\)$/,
      );
      await handle.result();
    } finally {
      await connection.close();
    }
  }, 300_000);
});
