import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../activities/contracts/keys.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { runWorkers } from '../../workers/run-workers.js';
import type { pathgenRun } from '../../workflows/run.js';
import { connectTestClient, testWorkerConfig, uniqueQueues } from '../helpers/temporal.js';

// A large manifest through the run's machinery: pages of rows, a sliding window of child workflows,
// continue-as-new on a small event budget. The slides are tiny on purpose (files that do not exist,
// so each slide ends at its first activity) to keep the test about orchestration, not pixels. Every
// execution of the run stays within its event budget and every event far below Temporal's payload
// limits, which is what lets a 100,000-slide manifest run (about 10 executions per 10,000 slides).

const rows = Number(process.env.PATHGEN_SCALE_ROWS ?? 1200);
const budget = 600;
const maxInFlight = 40;

describe('pathgenRun at scale', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-run-scale-'));
  const queues = uniqueQueues('scale');
  const store = new FsObjectStore({ root: path.join(dir, 'store') });
  let stop!: () => void;
  let workers: Promise<void>;

  beforeAll(() => {
    const config = testWorkerConfig(queues, dir, {
      workers: { cpu: { maxConcurrentActivities: 40, maxConcurrentWorkflowTasks: 40 } },
      run: { maxInFlight, historyEventBudget: budget, manifestPageSize: 100, export: { enabled: false } },
    });
    workers = runWorkers({
      config,
      roles: ['cpu', 'gpu', 'agents'],
      store,
      until: new Promise<void>((resolve) => (stop = resolve)),
    });
  });

  afterAll(async () => {
    stop();
    await workers;
  });

  it(`runs a ${rows}-row manifest in bounded histories, continuing as new`, async () => {
    const runId = `scale-${randomUUID().slice(0, 8)}`;
    const manifest = path.join(dir, 'manifest.csv');
    const lines = ['slideId,slide,project'];
    for (let i = 0; i < rows; i++) lines.push(`slide-${i},${path.join(dir, 'absent', `slide-${i}.svs`)},TCGA-BRCA`);
    writeFileSync(manifest, `${lines.join('\n')}\n`);
    const { client, connection } = await connectTestClient();
    try {
      const workflowId = workflowIds.run(runId);
      const result = await client.workflow.execute<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId,
        args: [{ runId, manifest: { uri: manifest } }],
      });
      expect(result.progress).toMatchObject({ total: rows, failed: rows, completed: 0 });
      expect(result.progress.failuresByReason).toEqual({ SlideNotFound: rows });
      expect(result.progress.continuedAsNew).toBeGreaterThanOrEqual(Math.floor((rows * 5) / budget) - 1);

      let executions = 0;
      for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
        executions += 1;
        const history = await client.workflow.getHandle(workflowId, execution.runId).fetchHistory();
        const events = history.events ?? [];
        // The budget is checked before each slide start: at most one window of children finishes after it.
        expect(events.length).toBeLessThan(budget + maxInFlight * 12 + 100);
        const largest = Math.max(...events.map((event) => JSON.stringify(event).length));
        expect(largest).toBeLessThan(64 * 1024);
      }
      expect(executions).toBe(result.progress.continuedAsNew + 1);
    } finally {
      await connection.close();
    }
  }, 600_000);
});
