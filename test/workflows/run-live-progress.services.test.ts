import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKeys, workflowIds } from '../../activities/contracts/keys.js';
import type { RunSettingsOverrides } from '../../activities/contracts/run-settings.js';
import type { SlideRecord } from '../../activities/contracts/slide-record.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { repoRoot } from '../../infra/harness/installed-tools.js';
import { runWorkers } from '../../workers/run-workers.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import { progressQuery, type pathgenRun } from '../../workflows/run.js';
import type { RunProgress } from '../../workflows/run-progress.js';
import { defaultFakeModel, startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import type { FakeOpenAiServer, FakeRequest } from '../helpers/fake-openai-server.js';
import { connectTestClient, testWorkerConfig, uniqueQueues } from '../helpers/temporal.js';

// The run's `progress` while slides run, on the real services: the agents' `openai` backend against
// a model server that holds summarize answers until the test lets them go, so a slide stays in its
// agent stages while the query already shows its patches described and summarized; at the end the
// totals are the finished slide's own counts (its live report left when its final numbers came).
// And what the reports cost: a slide of 256 patches in batches of 64 stays under 300 history events.

/** Summarize answers wait here until released, one per permit. */
function answerGate() {
  let permits = 0;
  let open = false;
  const waiting: (() => void)[] = [];
  return {
    hold(): Promise<void> | undefined {
      if (open) return undefined;
      if (permits > 0) {
        permits -= 1;
        return undefined;
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    waiting: () => waiting.length,
    release(count: number) {
      for (let i = 0; i < count; i++) {
        const next = waiting.shift();
        if (next) next();
        else permits += 1;
      }
    },
    open() {
      open = true;
      for (const next of waiting.splice(0)) next();
    },
  };
}

describe('the progress query while slides run', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-live-progress-'));
  const queues = uniqueQueues('live-progress');
  const store = new FsObjectStore({ root: path.join(dir, 'store') });
  let server!: FakeOpenAiServer;
  let gate: ReturnType<typeof answerGate> | undefined;
  let stop!: () => void;
  let workers: Promise<void>;
  let client!: Client;
  let closeConnection!: () => Promise<void>;

  beforeAll(async () => {
    server = await startFakeOpenAiServer({
      hold: (request: FakeRequest) => (request.agent === 'summarize' ? gate?.hold() : undefined),
    });
    const agent = { backend: 'openai', baseUrl: server.baseUrl, model: defaultFakeModel, inputSize: 32 };
    const config = testWorkerConfig(queues, dir, {
      agents: { findings: agent, describe: agent, revise: agent, summarize: agent },
      run: { export: { enabled: false } },
    });
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    workers = runWorkers({ config, roles: ['cpu', 'gpu', 'agents'], store, until: stopped });
    const connected = await connectTestClient();
    client = connected.client;
    closeConnection = () => connected.connection.close();
  }, 120_000);

  afterAll(async () => {
    gate?.open();
    stop();
    await workers;
    await closeConnection();
    await server.close();
  });

  /** Starts a run of one slide with its own settings. */
  async function startRun(
    slideId: string,
    slide: { width: number; height: number; seed: number },
    settings: RunSettingsOverrides,
  ) {
    const runId = `lp-${randomUUID().slice(0, 8)}`;
    const written = await writeSyntheticSvs(path.join(dir, `${slideId}.svs`), slide);
    const manifest = path.join(dir, `${runId}.jsonl`);
    const row = { slideId, slide: written.path, project: 'TCGA-COAD', report: 'Adenocarcinoma of the colon.' };
    writeFileSync(manifest, `${JSON.stringify(row)}\n`);
    const handle = await client.workflow.start<typeof pathgenRun>('pathgenRun', {
      taskQueue: queues.cpu,
      workflowId: workflowIds.run(runId),
      args: [{ runId, manifest: { uri: manifest }, settings }],
    });
    const slideHandle = client.workflow.getHandle(workflowIds.slide(runId, slideId));
    const record = async () =>
      JSON.parse((await store.get(runKeys.slideRecord(runId, slideId))).toString()) as SlideRecord;
    return { runId, handle, slideHandle, record };
  }

  /** Queries `progress` until `ready` holds (the run gets there on its own; the cap only ends a broken run). */
  async function progressWhen(
    handle: { query: (query: typeof progressQuery) => Promise<RunProgress> },
    ready: (progress: RunProgress) => boolean,
    what: string,
  ): Promise<RunProgress> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const progress = await handle.query(progressQuery);
      if (ready(progress)) return progress;
      if (Date.now() > deadline) throw new Error(`${what} never happened: ${JSON.stringify(progress.patches)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const processed = (count: { succeeded: number; failed: number }) => count.succeeded + count.failed;

  it('shows patches described and summarized while the slide is still running, and counts them once', async () => {
    gate = answerGate();
    const { handle, slideHandle, record } = await startRun(
      'live',
      { width: 5000, height: 4000, seed: 31 },
      // Four batches of two, one at a time: each batch's summarize waits for the test.
      { select: { maxPerSlide: 8 }, agents: { batchSize: 2 }, run: { agentBatchesInParallel: 1 } },
    );

    // The first batch is described and revised; its summarize answers are held.
    const first = await progressWhen(
      handle,
      (p) => processed(p.patches.revised) >= 2 && gate!.waiting() > 0,
      'the first batch reaching summarize',
    );
    expect(first).toMatchObject({ completed: 0, failed: 0, running: 1 });
    expect(first.patches.selected).toBeGreaterThanOrEqual(4);
    expect(first.patches.candidates).toBeGreaterThanOrEqual(first.patches.selected);
    expect(processed(first.patches.described)).toBe(2);
    expect(processed(first.patches.summarized)).toBe(0);
    expect(first.patches.batchesInFlight).toBe(1);
    expect(first.usage.calls).toBeGreaterThan(0);
    expect((await slideHandle.describe()).status.name).toBe('RUNNING');

    // Let the first batch's summarize answers go: it is summarized, the next batch described, and
    // that batch's summarize is held in turn.
    gate.release(2);
    const second = await progressWhen(
      handle,
      (p) => processed(p.patches.summarized) >= 2 && processed(p.patches.described) >= 4 && gate!.waiting() > 0,
      'the second batch reaching summarize',
    );
    expect(second).toMatchObject({ completed: 0, failed: 0, running: 1 });
    expect(processed(second.patches.summarized)).toBe(2);
    expect(processed(second.patches.described)).toBe(4);
    expect(second.usage.calls).toBeGreaterThan(first.usage.calls);
    expect((await slideHandle.describe()).status.name).toBe('RUNNING');

    gate.open();
    const { progress } = await handle.result();
    const slide = await record();
    expect(progress).toMatchObject({ completed: 1, failed: 0, running: 0 });
    // The finished slide's numbers, once: its live report is gone.
    expect(progress.patches).toEqual({
      candidates: slide.counts.candidates,
      selected: slide.counts.selected,
      described: { succeeded: slide.counts.selected, failed: 0 },
      revised: { succeeded: slide.counts.selected, failed: 0 },
      summarized: { succeeded: slide.counts.captioned, failed: 0 },
      failed: 0,
      batchesInFlight: 0,
    });
    expect(progress.captions).toBe(slide.counts.captioned);
    expect(progress.usage).toEqual(slide.usage);
    expect(await handle.query(progressQuery)).toMatchObject({ patches: progress.patches, usage: progress.usage });
    gate = undefined;
  }, 240_000);

  it('costs a slide of 256 patches in batches of 64 fewer than 300 history events', async ({ annotate }) => {
    const { handle, slideHandle, record } = await startRun(
      'big',
      { width: 6000, height: 5000, seed: 32 },
      // Small patches, every candidate kept by quality: more than enough for PathGen's cap of 256.
      {
        tile: { patchSize: 128, minTissueFraction: 0.25 },
        select: { maxPerSlide: 256, topQuality: 256, duplicateMode: 'off' },
        agents: { batchSize: 64 },
      },
    );
    const { progress } = await handle.result();
    const slide = await record();
    expect(slide.counts.selected, `of ${slide.counts.candidates} candidates`).toBe(256);
    expect(progress.patches).toMatchObject({
      selected: 256,
      summarized: { succeeded: slide.counts.captioned, failed: 0 },
      batchesInFlight: 0,
    });

    const events = (await slideHandle.fetchHistory()).events ?? [];
    const scheduled = events.filter((event) => event.activityTaskScheduledEventAttributes).length;
    const reports = events.filter((event) => event.signalExternalWorkflowExecutionInitiatedEventAttributes).length;
    // tile, findings, select, four batches through three agents, the record; and the reports went out.
    expect(scheduled).toBe(3 + 4 * 3 + 1);
    expect(reports).toBeGreaterThan(2);
    expect(events.length).toBeLessThanOrEqual(300);
    await annotate(`slide history: ${events.length} events, ${reports} progress reports`);
    // Both histories, reports and all, replay against the current code.
    const workflowsPath = path.join(repoRoot, 'workflows', 'index.ts');
    await Worker.runReplayHistory({ workflowsPath }, await slideHandle.fetchHistory());
    await Worker.runReplayHistory({ workflowsPath }, await handle.fetchHistory());
  }, 300_000);
});
