import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { workflowIds } from '../../activities/contracts/keys.js';
import type { pathgenRun } from '../../workflows/run.js';
import { startWorkerProcess } from '../helpers/cli-process.js';
import { startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import type { FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { connectTestClient, uniqueQueues, workerProcessEnv } from '../helpers/temporal.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

// A worker killed (SIGKILL) in the middle of an agent batch against a model server, then started
// again: the run completes and the server never answered the same request twice. Requests are held
// unanswered at the moment of the kill, so no answer is in flight between the server and the store.

const children: ChildProcessWithoutNullStreams[] = [];
let server: FakeOpenAiServer | undefined;
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await server?.close();
});

describe('agents across a killed worker', () => {
  it('pays for no answer twice', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-agents-kill-'));
    const slide = await writeSyntheticSvs(path.join(dir, 'slide.svs'), { width: 6000, height: 4500, seed: 41 });
    const manifest = path.join(dir, 'manifest.jsonl');
    writeFileSync(
      manifest,
      `${JSON.stringify({ slideId: 'slide-1', slide: slide.path, project: 'TCGA-LUAD', report: 'Invasive adenocarcinoma.' })}\n`,
    );
    writeFileSync(
      path.join(dir, 'config.yaml'),
      [
        'select:',
        '  maxPerSlide: 16',
        'agents:',
        '  batchSize: 8',
        '  endpointConcurrency: 2',
        'run:',
        '  agentBatchesInParallel: 1',
        '',
      ].join('\n'),
    );
    let holding = false;
    server = await startFakeOpenAiServer({ latencyMs: 20, fault: () => (holding ? 'hang' : undefined) });
    const fake = server;
    const queues = uniqueQueues('agents-kill');
    const env = workerProcessEnv(queues, dir, {
      PATHGEN_CONFIG: path.join(dir, 'config.yaml'),
      PATHGEN_AGENT_BACKEND: 'openai',
      PATHGEN_AGENT_BASE_URL: fake.baseUrl,
      PATHGEN_AGENT_MODEL: 'fake-pathology-vlm',
    });
    const startWorker = async () => {
      const child = await startWorkerProcess(['--queues', 'cpu,gpu,agents', '--log-level', 'ERROR'], env);
      children.push(child);
      return child;
    };
    const answered = () => fake.log.filter((entry) => entry.status === 200);
    const first = await startWorker();
    const runId = `ak-${randomUUID().slice(0, 8)}`;
    const { client, connection } = await connectTestClient();
    try {
      const handle = await client.workflow.start<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [{ runId, manifest: { uri: manifest } }],
      });
      const waitFor = async (check: () => boolean, what: string) => {
        const deadline = Date.now() + 120_000;
        while (!check()) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      // Some describe answers in, then hold every new request, kill, release, restart.
      await waitFor(() => answered().filter((entry) => entry.agent === 'describe').length >= 4, 'describe answers');
      holding = true;
      await waitFor(() => fake.log.some((entry) => entry.fault === 'hang'), 'a held request');
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));
      holding = false;
      await startWorker();
      const result = await handle.result();
      expect(result.progress).toMatchObject({ total: 1, completed: 1, failed: 0 });
      expect(result.progress.captions).toBe(result.progress.stages.captions!.total);

      const perKey = new Map<string, number>();
      for (const entry of answered()) perKey.set(entry.requestKey!, (perKey.get(entry.requestKey!) ?? 0) + 1);
      const repeated = [...perKey].filter(([, count]) => count > 1);
      expect(repeated).toEqual([]);
      // findings + describe, revise and summarize for every selected patch, each answered once.
      expect(perKey.size).toBe(1 + 3 * result.progress.captions);
    } finally {
      await connection.close();
    }
  }, 300_000);
});
