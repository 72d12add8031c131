import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportKeys, runKeys, workflowIds } from '../../activities/contracts/keys.js';
import type { SlideRecord } from '../../activities/contracts/slide-record.js';
import type { ExportPointer } from '../../activities/export/export-pointer.js';
import { readExportPointer, sampleKey } from '../../activities/export/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { repoRoot } from '../../infra/harness/installed-tools.js';
import { runWorkers } from '../../workers/run-workers.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import { progressQuery, rerunFailedUpdate, type pathgenRun } from '../../workflows/run.js';
import type { RunProgress } from '../../workflows/run-progress.js';
import type { RerunFailedOptions } from '../../workflows/run-state.js';
import { readTarFiles } from '../export/tar-tools.js';
import { defaultFakeModel, startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import type { FakeFault, FakeLogEntry, FakeOpenAiServer, FakeRequest } from '../helpers/fake-openai-server.js';
import { connectTestClient, testWorkerConfig, uniqueQueues } from '../helpers/temporal.js';

// Patch-level reruns on the real services: the agents' `openai` backend against a model server that
// fails some of one slide's patches (an invalid answer to describe, a server down for revise). The
// slide completes with failed patches; `rerunFailed` (an update for one reason while the run is
// open, then a rerun start for the rest) brings them back. The server is asked only for the calls
// that failed, the counts stay right, and the last export holds every sample.

type Slide = 'lung' | 'colon';

describe('rerunFailed brings back the failed patches of completed slides', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-patch-rerun-'));
  const queues = uniqueQueues('patch-rerun');
  const store = new FsObjectStore({ root: path.join(dir, 'store') });
  const rows: { slideId: Slide; slide: string; project: string; report: string }[] = [];
  let server!: FakeOpenAiServer;
  let stop!: () => void;
  let workers: Promise<void>;

  // The lung slide's first describe patch gets invalid (empty) answers and its first other revise
  // patch 500s, while broken; the colon slide's findings wait at the gate until it opens.
  const broken = { describe: true, revise: true };
  const target: { describe?: string; revise?: string } = {};
  const slideOfKey = new Map<string, Slide>();
  let heldColon = false;
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const slideOf = (request: FakeRequest): Slide | undefined =>
    request.text.includes('lung') ? 'lung' : request.text.includes('colon') ? 'colon' : undefined;
  const fault = (request: FakeRequest): FakeFault | undefined => {
    const slide = slideOf(request);
    if (slide && request.requestKey) slideOfKey.set(request.requestKey, slide);
    if (slide !== 'lung' || request.patch === undefined) return undefined;
    if (request.agent === 'describe' && broken.describe) {
      target.describe ??= request.patch;
      return target.describe === request.patch ? 'empty' : undefined;
    }
    if (request.agent === 'revise' && broken.revise && request.patch !== target.describe) {
      target.revise ??= request.patch;
      return target.revise === request.patch ? 'server-error' : undefined;
    }
    return undefined;
  };
  const hold = (request: FakeRequest): Promise<void> | undefined => {
    if (request.agent !== 'findings' || slideOf(request) !== 'colon') return undefined;
    heldColon = true;
    return gate;
  };

  beforeAll(async () => {
    server = await startFakeOpenAiServer({ fault, hold });
    for (const [slideId, seed, project, report] of [
      ['lung', 21, 'TCGA-LUAD', 'Invasive adenocarcinoma of the lung, acinar predominant.'],
      ['colon', 22, 'TCGA-COAD', 'Adenocarcinoma of the colon, moderately differentiated.'],
    ] as const) {
      const written = await writeSyntheticSvs(path.join(dir, `${slideId}.svs`), { width: 5000, height: 4000, seed });
      rows.push({ slideId, slide: written.path, project, report });
    }
    const agent = { backend: 'openai', baseUrl: server.baseUrl, model: defaultFakeModel, inputSize: 32 };
    const config = testWorkerConfig(queues, dir, {
      select: { maxPerSlide: 5 },
      agents: {
        findings: agent,
        describe: agent,
        revise: agent,
        summarize: agent,
        endpointConcurrency: 2,
        retry: { maxAttempts: 2, baseDelaySeconds: 0.005, maxDelaySeconds: 0.05 },
      },
      // One slide at a time: the lung slide ends while the colon slide, held, keeps the run open.
      run: { maxInFlight: 1, export: { csv: false } },
    });
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    workers = runWorkers({ config, roles: ['cpu', 'gpu', 'agents'], store, until: stopped });
  }, 120_000);

  afterAll(async () => {
    openGate();
    stop();
    await workers;
    await server.close();
  });

  const record = async (runId: string, slideId: Slide) =>
    JSON.parse((await store.get(runKeys.slideRecord(runId, slideId))).toString()) as SlideRecord;
  /** The requests of one slide from log index `from` on, as [agent, patch] (summarize sends no image). */
  const requestsOf = (slide: Slide, from: number): FakeLogEntry[] =>
    server.log.slice(from).filter((entry) => entry.requestKey && slideOfKey.get(entry.requestKey) === slide);
  const answeredKeys = (until: number) =>
    new Set(
      server.log
        .slice(0, until)
        .filter((entry) => entry.status === 200)
        .map((entry) => entry.requestKey),
    );

  it('reruns only the failed calls, counts each slide once, and re-exports every sample', async () => {
    const runId = `pr-${randomUUID().slice(0, 8)}`;
    const manifest = path.join(dir, 'manifest.jsonl');
    writeFileSync(manifest, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
    const { client, connection } = await connectTestClient();
    try {
      const handle = await client.workflow.start<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [{ runId, manifest: { uri: manifest } }],
      });
      const deadline = Date.now() + 180_000;
      while (!(heldColon && (await handle.query(progressQuery)).completed === 1)) {
        if (Date.now() > deadline) throw new Error('the lung slide never completed with the colon slide held');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }

      // The lung slide completed with two failed patches: an invalid describe answer, a revise server down.
      const lungFirst = await record(runId, 'lung');
      const selected = lungFirst.counts.selected!;
      expect(selected).toBeGreaterThanOrEqual(3);
      expect(lungFirst).toMatchObject({
        status: 'completed',
        failures: { ModelOutputInvalid: 1, ModelUnavailable: 1 },
      });
      expect(lungFirst.counts.captioned).toBe(selected - 2);
      const before = await handle.query(progressQuery);
      expect(before).toMatchObject({ completed: 1, failed: 0, captions: selected - 2 });
      expect(before.patchFailuresByReason).toEqual({ ModelOutputInvalid: 1, ModelUnavailable: 1 });

      // The revise server is back: rerun what failed for that reason while the run is still open.
      broken.revise = false;
      const updateAt = server.log.length;
      // By name: the definition's optional argument does not fit executeUpdate's typed overloads.
      const update: RerunFailedOptions = { reason: 'ModelUnavailable' };
      const queued = await handle.executeUpdate<RunProgress, [RerunFailedOptions]>(rerunFailedUpdate.name, {
        args: [update],
      });
      expect(queued.phase).toBe('running');
      openGate();
      const { progress } = await handle.result();

      const lung = await record(runId, 'lung');
      const colon = await record(runId, 'colon');
      const allSamples = selected + colon.counts.selected!;
      expect(lung.failures).toEqual({ ModelOutputInvalid: 1 });
      expect(colon).toMatchObject({ status: 'completed', failures: {} });
      expect(progress).toMatchObject({ total: 2, completed: 2, failed: 0, captions: allSamples - 1 });
      expect(progress.patchFailuresByReason).toEqual({ ModelOutputInvalid: 1 });
      expect(progress.stages.captions).toEqual({ done: allSamples - 1, total: allSamples });
      for (const stage of ['tile', 'findings', 'select', 'describe', 'revise', 'summarize'])
        expect(progress.stages[stage], stage).toEqual({ done: 2, total: 2 });
      // Revise again for the patch whose server was down, then summarize it; nothing else of the lung slide.
      const updateCalls = requestsOf('lung', updateAt);
      expect(updateCalls.map((entry) => entry.agent).sort()).toEqual(['revise', 'summarize']);
      expect(updateCalls.find((entry) => entry.agent === 'revise')?.patch).toBe(target.revise);
      expect(updateCalls.every((entry) => entry.status === 200)).toBe(true);
      const answeredBeforeUpdate = answeredKeys(updateAt);
      expect(updateCalls.filter((entry) => answeredBeforeUpdate.has(entry.requestKey))).toEqual([]);
      const firstExport = (await readExportPointer(store, exportKeys.prefix(runId))) as ExportPointer;
      expect(firstExport.samples).toBe(allSamples - 1);
      expect(progress.export?.samples).toBe(allSamples - 1);

      // The describe answers are valid now: a new execution reruns the rest (every reason).
      broken.describe = false;
      const rerunAt = server.log.length;
      const rerun = await client.workflow.execute<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [{ runId, manifest: { uri: manifest }, rerunFailed: {} }],
      });
      expect(rerun.progress).toMatchObject({ total: 1, completed: 1, failed: 0, captions: selected });
      expect(rerun.progress.patchFailuresByReason).toEqual({});
      const recovered = await record(runId, 'lung');
      expect(recovered).toMatchObject({ status: 'completed', failures: {} });
      expect(recovered.samples.every((sample) => sample.recordKey !== undefined)).toBe(true);
      // Describe for the patch with invalid answers (a fresh round), revise and summarize after it;
      // the colon slide, with nothing failed, is not rerun, and the stored findings are reused.
      const rerunCalls = requestsOf('lung', rerunAt);
      expect(rerunCalls.map((entry) => entry.agent).sort()).toEqual(['describe', 'revise', 'summarize']);
      for (const agent of ['describe', 'revise'] as const)
        expect(rerunCalls.find((entry) => entry.agent === agent)?.patch).toBe(target.describe);
      expect(rerunCalls.every((entry) => entry.status === 200)).toBe(true);
      expect(requestsOf('colon', rerunAt)).toEqual([]);
      expect(server.log.slice(rerunAt).filter((entry) => entry.agent === 'findings')).toEqual([]);
      const answeredBeforeRerun = answeredKeys(rerunAt);
      expect(rerunCalls.filter((entry) => answeredBeforeRerun.has(entry.requestKey))).toEqual([]);
      // No answer was asked for twice in the whole test.
      const answered = server.log.filter((entry) => entry.status === 200).map((entry) => entry.requestKey);
      expect(answered.length).toBe(new Set(answered).size);

      // A new export version with every sample of both slides.
      const pointer = (await readExportPointer(store, exportKeys.prefix(runId))) as ExportPointer;
      expect(pointer.version).not.toBe(firstExport.version);
      expect(pointer.samples).toBe(allSamples);
      const names: string[] = [];
      for (let shard = 0; shard < pointer.shards; shard++) {
        const key = `${exportKeys.version(exportKeys.prefix(runId), pointer.version)}shards/shard-${String(shard).padStart(6, '0')}.tar`;
        names.push(...readTarFiles(await store.get(key)).map((file) => file.name));
      }
      const expected = [recovered, colon].flatMap((slide) =>
        slide.samples.map((sample) => `${sampleKey(slide.slideId, sample.x, sample.y)}.jpg`),
      );
      expect(names.filter((name) => name.endsWith('.jpg')).sort()).toEqual(expected.sort());

      // Both executions' histories (an update, a rerun start) replay against the current code.
      for (const runIdOfExecution of [handle.firstExecutionRunId, undefined]) {
        const history = await client.workflow.getHandle(workflowIds.run(runId), runIdOfExecution).fetchHistory();
        await Worker.runReplayHistory({ workflowsPath: path.join(repoRoot, 'workflows', 'index.ts') }, history);
      }
    } finally {
      await connection.close();
    }
  }, 300_000);
});
