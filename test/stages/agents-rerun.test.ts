import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentKeys } from '../../activities/contracts/keys.js';
import { createAgentActivities } from '../../activities/stages/agents.js';
import type { AgentBatchInput, AgentBatchResult, PatchRef, StageRecord } from '../../activities/stages/agents.js';
import { createAgents } from '../../activities/agents/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import '../setup/quiet-temporal-runtime.js';
import { startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import type { FakeOpenAiServer, FakeRequest } from '../helpers/fake-openai-server.js';
import { countTokens, openAiSettings, syntheticPatch } from '../agents/agent-test-settings.js';

// A batch's failed patches brought back by a rerun (AgentBatchInput.retryFailures): only they are
// asked for again (an invalid answer in a fresh round of answers), the copies of their failure
// downstream are recomputed, and everything answered before comes from the store.

let dir: string;
let server: FakeOpenAiServer | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-agent-rerun-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function storeWithPatches(count: number): Promise<{ store: FsObjectStore; patches: PatchRef[] }> {
  const store = new FsObjectStore({ root: join(dir, 'store') });
  const patches: PatchRef[] = [];
  for (let i = 0; i < count; i++) {
    const raw = syntheticPatch(i, 48);
    const jpeg = await sharp(raw.data, { raw: { width: 48, height: 48, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const key = `select/slide-r/h/patches/${i * 672}_0.jpg`;
    await store.put(key, jpeg);
    patches.push({ id: `${i * 672}_0`, key, mpp: 0.5 });
  }
  return { store, patches };
}

const stages = ['describePatches', 'revisePatches', 'summarizePatches'] as const;

describe('agent batches rerun for their failed patches', () => {
  it('asks only for the failed calls and reuses every answer', async () => {
    // While `broken`: every describe answer for the first patch it sees is empty (invalid), and
    // revise for the first other patch it sees gets 500s until its attempts run out.
    let broken = true;
    const invalidPatch = new Set<string>();
    const unavailablePatch = new Set<string>();
    const fault = (request: FakeRequest) => {
      if (!broken || request.patch === undefined) return undefined;
      if (request.agent === 'describe') {
        if (invalidPatch.size === 0) invalidPatch.add(request.patch);
        return invalidPatch.has(request.patch) ? 'empty' : undefined;
      }
      if (request.agent === 'revise' && !invalidPatch.has(request.patch)) {
        if (unavailablePatch.size === 0) unavailablePatch.add(request.patch);
        return unavailablePatch.has(request.patch) ? 'server-error' : undefined;
      }
      return undefined;
    };
    server = await startFakeOpenAiServer({ fault });
    const fake = server;
    const { store, patches } = await storeWithPatches(4);
    const settings = openAiSettings(fake.baseUrl, { endpointConcurrency: 1, retry: { maxAttempts: 2 } });
    const agents = createAgents(settings, { countTokens, store });
    const activities = createAgentActivities({ store, agents: () => Promise.resolve(agents) });
    // `execution`: the slide workflow execution the batch runs in (each rerun is a new one).
    const run = (
      stage: (typeof stages)[number],
      input: AgentBatchInput,
      execution = 'first-run',
    ): Promise<AgentBatchResult> =>
      new MockActivityEnvironment({ workflowExecution: { workflowId: 'slide-r', runId: execution } }).run(
        activities[stage],
        input,
      );
    const input: AgentBatchInput = { slideId: 'slide-r', project: 'TCGA-LUAD', patches, outputPrefix: 'agents/r' };

    const first: AgentBatchResult[] = [];
    for (const stage of stages) first.push(await run(stage, input));
    expect(first.map((result) => result.failures)).toEqual([
      { ModelOutputInvalid: 1 },
      { ModelOutputInvalid: 1, ModelUnavailable: 1 },
      { ModelOutputInvalid: 1, ModelUnavailable: 1 },
    ]);
    // Three invalid answers (the first and two more), each its own request.
    expect(fake.log.filter((entry) => entry.agent === 'describe' && entry.fault === 'empty')).toHaveLength(3);

    // A plain retry of the batch keeps the invalid answer's record: its answers are cached and would fail again.
    const before = fake.log.length;
    expect(await run('describePatches', input)).toMatchObject({ reused: 4, failed: 1 });
    expect(fake.log.length).toBe(before);

    // A rerun while the server still answers badly: a fresh round of three answers, recorded as
    // this rerun's; a retried attempt of the same rerun asks for nothing more.
    const rerun: AgentBatchInput = { ...input, retryFailures: ['ModelOutputInvalid'] };
    expect(await run('describePatches', rerun, 'rerun-1')).toMatchObject({ reused: 3, failed: 1 });
    expect(fake.log.slice(before).map((entry) => [entry.agent, entry.fault])).toEqual([
      ['describe', 'empty'],
      ['describe', 'empty'],
      ['describe', 'empty'],
    ]);
    const failedAgain = JSON.parse(
      (await store.get(agentKeys.stage(input.outputPrefix, 'describe', patches[0]!.id))).toString(),
    ) as StageRecord<object>;
    expect(failedAgain).toMatchObject({ ok: false, round: 1, retriedIn: 'rerun-1' });
    expect(await run('describePatches', rerun, 'rerun-1')).toMatchObject({ reused: 4, failed: 1 });
    expect(fake.log.length).toBe(before + 3);

    broken = false;
    const fixedAt = fake.log.length;
    const again: AgentBatchResult[] = [];
    for (const stage of stages) again.push(await run(stage, rerun, 'rerun-2'));
    expect(again.map((result) => [result.succeeded, result.reused])).toEqual([
      [4, 3],
      [4, 2],
      [4, 2],
    ]);
    const asked = fake.log.slice(fixedAt);
    expect(asked.every((entry) => entry.status === 200)).toBe(true);
    // Describe again for the invalid patch; revise for it and for the one whose server was down;
    // summarize for both.
    expect(asked.map((entry) => entry.agent).sort()).toEqual([
      'describe',
      'revise',
      'revise',
      'summarize',
      'summarize',
    ]);
    expect(asked.find((entry) => entry.agent === 'describe')?.patch).toBe([...invalidPatch][0]);
    const answeredBefore = new Set(
      fake.log
        .slice(0, fixedAt)
        .filter((entry) => entry.status === 200)
        .map((entry) => entry.requestKey),
    );
    expect(asked.filter((entry) => answeredBefore.has(entry.requestKey))).toEqual([]);
    for (const patch of patches) {
      const record = JSON.parse(
        (await store.get(agentKeys.stage(input.outputPrefix, 'summarize', patch.id))).toString(),
      ) as StageRecord<{ caption: string }>;
      expect(record.ok).toBe(true);
    }
  });
});
