import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../../activities/contracts/keys.js';
import { FsObjectStore } from '../../../activities/store/fs-store.js';
import { historyFigures, repeatedWork, shardFigures } from '../../../bench/scale-figures.js';
import { runWorkers } from '../../../workers/run-workers.js';
import { scaleActivities } from '../../../workers/scale/scale-doubles.js';
import { expectedSampleKeys, scaleSlideId, type ScalePlan } from '../../../workers/scale/scale-plan.js';
import type { pathgenRun } from '../../../workflows/run.js';
import { connectTestClient, testWorkerConfig, uniqueQueues } from '../../helpers/temporal.js';

// The scale benchmark's worker mode on the real services: the real workflows and activities with
// the doubles under the pixel and model activities. A small cohort with failing slides and
// patches exports exactly the plan's expected samples, and running it again (a rerun of the same
// run id's records finds every result) asks no double for work it already did.

const plan: ScalePlan = { slides: 6, patchesPerSlide: 20, failRate: 0.25 };

describe('scale mode', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-scale-mode-'));
  const queues = uniqueQueues('scale-mode');
  const store = new FsObjectStore({ root: path.join(dir, 'store') });
  const ledgerDir = path.join(dir, 'ledgers');
  let stop!: () => void;
  let workers: Promise<void>;

  beforeAll(() => {
    mkdirSync(ledgerDir, { recursive: true });
    const config = testWorkerConfig(queues, dir, { agents: { batchSize: 8 } });
    workers = runWorkers({
      config,
      roles: ['cpu', 'gpu', 'agents'],
      store,
      activities: (deps) => scaleActivities(deps, { plan, ledgerDir, imageBytes: 3000 }),
      until: new Promise<void>((resolve) => (stop = resolve)),
    });
  });

  afterAll(async () => {
    stop();
    await workers;
  });

  it('exports exactly the planned samples, and a second run of the cohort repeats no work', async () => {
    const manifest = path.join(dir, 'manifest.csv');
    const rows = Array.from(
      { length: plan.slides },
      (_, i) => `${scaleSlideId(i)},${dir}/${scaleSlideId(i)}.svs,TCGA-BRCA`,
    );
    writeFileSync(manifest, `slideId,slide,project\n${rows.join('\n')}\n`);
    const { client, connection } = await connectTestClient();
    try {
      for (const runId of [`scale-${randomUUID().slice(0, 8)}`, `scale-${randomUUID().slice(0, 8)}`]) {
        const result = await client.workflow.execute<typeof pathgenRun>('pathgenRun', {
          taskQueue: queues.cpu,
          workflowId: workflowIds.run(runId),
          args: [{ runId, manifest: { uri: manifest } }],
        });
        const expected = [...expectedSampleKeys(plan)];
        expect(result.progress.failuresByReason.SlideUnreadable ?? 0).toBe(
          plan.slides - new Set(expected.map((key) => key.split('_')[0])).size,
        );
        const shards = await shardFigures(store, runId, expected);
        expect(shards).toMatchObject({ samples: expected.length, missing: 0, duplicates: 0, unexpected: 0 });
        expect(result.progress.captions).toBe(expected.length);
        const histories = await historyFigures(client, runId);
        expect(histories.slideWorkflows).toBe(plan.slides);
        expect(histories.eventsPerSlide.max).toBeLessThanOrEqual(300);
        expect(histories.maxPayloadBytes).toBeLessThan(64 * 1024);
      }
      // The second run found every tile, selection and model answer of the first one.
      const ledger = await repeatedWork(ledgerDir);
      expect(ledger.repeated).toEqual({});
      expect(ledger.done).toBeGreaterThan(plan.slides);
    } finally {
      await connection.close();
    }
  }, 300_000);
});
