import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentKeys } from '../../activities/contracts/keys.js';
import { createAgentActivities } from '../../activities/stages/agents.js';
import type { AgentBatchInput, AgentBatchResult, FindingsOutput, PatchRef } from '../../activities/stages/agents.js';
import { createAgents } from '../../activities/agents/index.js';
import type { AgentsSettings } from '../../activities/agents/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import '../setup/quiet-temporal-runtime.js';
import { startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import type { FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { builtinSettings, countTokens, openAiSettings, syntheticPatch } from '../agents/agent-test-settings.js';

// The agents queue's activities over batches of stored patches: one result per patch in the store,
// failures as records, nothing computed (or paid for) twice when an activity runs again.

let dir: string;
let server: FakeOpenAiServer | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-agent-stages-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function storeWithPatches(name: string, count: number): Promise<{ store: FsObjectStore; patches: PatchRef[] }> {
  const store = new FsObjectStore({ root: join(dir, name) });
  const patches: PatchRef[] = [];
  for (let i = 0; i < count; i++) {
    const raw = syntheticPatch(i, 48);
    const jpeg = await sharp(raw.data, { raw: { width: 48, height: 48, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const key = `select/slide-a/h/patches/${i * 672}_0.jpg`;
    await store.put(key, jpeg);
    patches.push({ id: `${i * 672}_0`, key, mpp: 0.5 });
  }
  return { store, patches };
}

function activitiesFor(store: FsObjectStore, settings: AgentsSettings) {
  const agents = createAgents(settings, { countTokens, store });
  return createAgentActivities({ store, agents: () => Promise.resolve(agents) });
}

const run = <I, O>(fn: (input: I) => Promise<O>, input: I, env = new MockActivityEnvironment()): Promise<O> =>
  env.run(fn, input);

describe('agent activities', () => {
  it('run findings, describe, revise and summarize with the built-in backend, then reuse every result', async () => {
    const { store, patches } = await storeWithPatches('builtin', 3);
    const activities = activitiesFor(store, builtinSettings());
    const findings: FindingsOutput = await run(activities.extractFindings, {
      slideId: 'slide-a',
      report: 'Invasive adenocarcinoma, moderately differentiated. Margins are negative.',
    });
    expect(findings.findings).toBeGreaterThan(0);
    expect(findings.backend).toBe('builtin');
    const input: AgentBatchInput = {
      slideId: 'slide-a',
      project: 'TCGA-COAD',
      findingsKey: findings.key,
      patches,
      outputPrefix: 'agents/slide-a/x',
    };
    for (const stage of ['describePatches', 'revisePatches', 'summarizePatches'] as const) {
      const result: AgentBatchResult = await run(activities[stage], input);
      expect(result).toMatchObject({ patches: 3, succeeded: 3, failed: 0, reused: 0 });
    }
    const record = JSON.parse(
      (await store.get(agentKeys.stage(input.outputPrefix, 'summarize', patches[0]!.id))).toString(),
    );
    expect(record.ok).toBe(true);
    expect(record.caption).toMatch(/colon/i);
    expect(record.backend).toBe('builtin');

    const again: AgentBatchResult = await run(activities.summarizePatches, input);
    expect(again).toMatchObject({ succeeded: 3, reused: 3 });
    const findingsAgain: FindingsOutput = await run(activities.extractFindings, {
      slideId: 'slide-a',
      report: 'Invasive adenocarcinoma, moderately differentiated. Margins are negative.',
    });
    expect(findingsAgain).toMatchObject({ key: findings.key, reused: true });
  });

  it('records a patch that fails and carries the failure down the cascade without asking the server', async () => {
    server = await startFakeOpenAiServer();
    const { store, patches } = await storeWithPatches('failing', 3);
    await store.put(patches[0]!.key, Buffer.from('not a jpeg'));
    const activities = activitiesFor(store, openAiSettings(server.baseUrl));
    const input: AgentBatchInput = { slideId: 'slide-b', project: 'TCGA-LUAD', patches, outputPrefix: 'agents/b' };
    for (const stage of ['describePatches', 'revisePatches', 'summarizePatches'] as const) {
      const result: AgentBatchResult = await run(activities[stage], input);
      expect(result).toMatchObject({ succeeded: 2, failed: 1, failures: { InvalidInput: 1 } });
    }
    const failed = JSON.parse((await store.get(agentKeys.stage('agents/b', 'summarize', patches[0]!.id))).toString());
    expect(failed).toMatchObject({ ok: false, failure: { agent: 'describe', code: 'InvalidInput' } });
    expect(server.log.filter((entry) => entry.status === 200)).toHaveLength(6);
    expect(server.log).toHaveLength(6);
  });

  it('after an attempt is cancelled mid-batch, the retry repeats no answered request', async () => {
    server = await startFakeOpenAiServer({ latencyMs: 30 });
    const fake = server;
    const { store, patches } = await storeWithPatches('killed', 12);
    const settings = openAiSettings(fake.baseUrl, { endpointConcurrency: 2 });
    const input: AgentBatchInput = { slideId: 'slide-c', project: 'TCGA-BRCA', patches, outputPrefix: 'agents/c' };

    const first = new MockActivityEnvironment();
    first.on('heartbeat', (details: unknown) => {
      if ((details as { done: number }).done >= 4) first.cancel();
    });
    await expect(run(activitiesFor(store, settings).describePatches, input, first)).rejects.toThrow();
    const answeredBefore = fake.log.filter((entry) => entry.status === 200).length;
    expect(answeredBefore).toBeGreaterThanOrEqual(4);
    expect(answeredBefore).toBeLessThan(12);

    // A fresh worker: new agents, same store (its response cache and the results written so far).
    const retried: AgentBatchResult = await run(activitiesFor(store, settings).describePatches, input);
    expect(retried.succeeded).toBe(12);
    expect(retried.reused).toBeGreaterThanOrEqual(4);
    const answered = new Map<string, number>();
    for (const entry of fake.log) {
      if (entry.status === 200) answered.set(entry.requestKey!, (answered.get(entry.requestKey!) ?? 0) + 1);
    }
    expect(answered.size).toBe(12);
    expect([...answered.values()].every((count) => count === 1)).toBe(true);
  });
});
