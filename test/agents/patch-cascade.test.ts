import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgents,
  isPatchFailureRecord,
  promptVersion,
  responseCacheKey,
  runPatchAgents,
  addUsage,
} from '../../activities/agents/index.js';
import type { PatchCaptionRecord, PatchOutcome } from '../../activities/agents/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { seededFaults, startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import type { FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { countTokens, openAiSettings, syntheticPatch } from './agent-test-settings.js';

// describe → revise → summarize per patch against a server that fails about 30 % of requests, with
// the response cache in a real (fs) store.

let dir: string;
let server: FakeOpenAiServer | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-agents-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const project = 'TCGA-COAD';

function successesPerKey(fake: FakeOpenAiServer): number[] {
  const counts = new Map<string, number>();
  for (const entry of fake.log)
    if (entry.status === 200 && entry.requestKey) counts.set(entry.requestKey, (counts.get(entry.requestKey) ?? 0) + 1);
  return [...counts.values()];
}

async function flakyRun(maxAttempts: number, root: string) {
  server = await startFakeOpenAiServer({
    fault: seededFaults({ rate: 0.3, seed: 5, kinds: ['rate-limit', 'server-error', 'hang'] }),
    retryAfter: '0',
    retryAfterMs: 5,
  });
  const fake = server;
  const store = new FsObjectStore({ root: join(dir, root) });
  // Long enough that an answer is never late on a loaded 2-core machine (200 patches at once), short
  // enough that the hangs still time out within the test.
  const timeout = { timeoutSeconds: 1 };
  const settings = openAiSettings(fake.baseUrl, {
    describe: timeout,
    revise: timeout,
    summarize: timeout,
    retry: { maxAttempts },
  });
  const patches = Array.from({ length: 200 }, (_, i) => ({ image: syntheticPatch(i), project }));
  const run = () => {
    const agents = createAgents(settings, { countTokens, store, env: {} });
    return Promise.all(patches.map((patch) => runPatchAgents(patch, agents)));
  };
  const outcomes = await run();
  return { fake, outcomes, run };
}

function split(outcomes: readonly PatchOutcome[]) {
  return {
    failed: outcomes.filter(isPatchFailureRecord),
    captioned: outcomes.filter((o): o is PatchCaptionRecord => !isPatchFailureRecord(o)),
  };
}

describe('runPatchAgents against an endpoint failing 30 % of requests (429, 500, hangs)', () => {
  it('captions 200 patches within budget, pays for each answer once, and a rerun pays for nothing', async () => {
    const { fake, outcomes, run } = await flakyRun(6, 'flaky-6');
    const { failed, captioned } = split(outcomes);
    expect(failed).toEqual([]);
    expect(captioned).toHaveLength(200);
    for (const record of captioned) {
      expect(record.caption).toMatch(/colon/);
      expect(record.tokens).toBe(countTokens(record.caption));
      expect(record.tokens).toBeLessThanOrEqual(77);
      expect(record.backends).toEqual({ describe: 'openai', revise: 'openai', summarize: 'openai' });
      expect(record.models.summarize).toBe('fake-pathology-vlm');
      expect(record.promptVersions.summarize).toBe(promptVersion('summarize'));
      expect(record.edits.modified).toEqual([
        { from: expect.stringMatching(/prominent nucleoli/), to: expect.stringMatching(/small nucleoli/) },
      ]);
      expect(record.edits.deleted).toEqual(['Mitotic figures are present.']);
      expect(record.edits.added).toEqual(['Focal necrosis is seen.']);
    }
    const faults = fake.log.filter((e) => e.fault !== undefined).length;
    expect(faults / fake.log.length).toBeGreaterThan(0.2);
    expect(successesPerKey(fake)).toEqual(Array(600).fill(1));

    const total = addUsage(...outcomes.map((o) => o.usage.total));
    expect(total).toMatchObject({ calls: 600, attempts: fake.log.length, cacheHits: 0 });
    expect(total.promptTokens).toBeGreaterThan(600 * 576);

    const requests = fake.log.length;
    const again = await run();
    expect(fake.log).toHaveLength(requests);
    expect(again.map((o) => (isPatchFailureRecord(o) ? o.failure.reason : o.caption))).toEqual(
      captioned.map((r) => r.caption),
    );
    expect(addUsage(...again.map((o) => o.usage.total))).toMatchObject({ calls: 600, attempts: 0, cacheHits: 600 });
  });

  it('with two attempts, records each patch that gets no answer as failed with its reason', async () => {
    const { fake, outcomes, run } = await flakyRun(2, 'flaky-2');
    const { failed, captioned } = split(outcomes);
    expect(failed.length).toBeGreaterThan(10);
    expect(captioned.length + failed.length).toBe(200);
    for (const { failure } of failed)
      expect(failure).toEqual({
        agent: expect.stringMatching(/^(describe|revise|summarize)$/),
        code: 'ModelUnavailable',
        reason: expect.stringMatching(/did not answer after 2 attempts: (HTTP 429|HTTP 500|no answer within 1 s)/),
      });
    expect(addUsage(...outcomes.map((o) => o.usage.total)).attempts).toBe(fake.log.length);

    // A rerun asks again only for what failed: answers already paid for come from the cache.
    const requests = fake.log.length;
    const again = await run();
    const rerunUsage = addUsage(...again.map((o) => o.usage.total));
    expect(rerunUsage.attempts).toBe(fake.log.length - requests);
    expect(rerunUsage.cacheHits).toBeGreaterThanOrEqual(captioned.length * 3);
    expect(split(again).failed.length).toBeLessThan(failed.length);
    expect(successesPerKey(fake).every((n) => n === 1)).toBe(true);
  });
});

describe('the response cache', () => {
  it('answers a repeated call from the store: zero requests the second time', async () => {
    server = await startFakeOpenAiServer();
    const store = new FsObjectStore({ root: join(dir, 'cache') });
    const settings = openAiSettings(server.baseUrl);
    const patch = { image: syntheticPatch(3), imageSha256: 'ab'.repeat(32), project };
    const first = await runPatchAgents(patch, createAgents(settings, { countTokens, store, env: {} }));
    expect(server.log).toHaveLength(3);
    const second = await runPatchAgents(patch, createAgents(settings, { countTokens, store, env: {} }));
    expect(server.log).toHaveLength(3);
    expect(caption(second)).toBe(caption(first));
    expect(second.usage.total).toMatchObject({ calls: 3, attempts: 0, cacheHits: 3, promptTokens: 0 });
    expect((first as PatchCaptionRecord).usage.total).toMatchObject({ calls: 3, attempts: 3, cacheHits: 0 });

    const key = responseCacheKey({
      agent: 'describe',
      backend: 'openai',
      model: 'fake-pathology-vlm',
      promptVersion: promptVersion('describe'),
      imageSha256: patch.imageSha256,
      input: 'x',
    });
    expect(key).toMatch(/^agent-cache\/describe\/[0-9a-f]{64}\.json$/);
    const { objects } = await store.listPage('agent-cache/');
    expect(objects.map((o) => o.key.split('/')[1]).sort()).toEqual(['describe', 'revise', 'summarize']);
  });

  it('keeps the first answer written when two callers race for one request', async () => {
    server = await startFakeOpenAiServer({ latencyMs: 20 });
    const store = new FsObjectStore({ root: join(dir, 'race') });
    const settings = openAiSettings(server.baseUrl);
    const patch = { image: syntheticPatch(4), project };
    const [a, b] = await Promise.all([
      createAgents(settings, { countTokens, store, env: {} }).describe(patch),
      createAgents(settings, { countTokens, store, env: {} }).describe(patch),
    ]);
    expect(a.description).toBe(b.description);
  });
});

describe('failures in the cascade', () => {
  it('records the stage, code and reason of a patch that cannot be described', async () => {
    server = await startFakeOpenAiServer({ answers: { describe: () => "I'm sorry, I can't help with that." } });
    const agents = createAgents(openAiSettings(server.baseUrl, { maxInvalidOutputRetries: 1 }), {
      countTokens,
      env: {},
    });
    const outcome = await runPatchAgents({ image: syntheticPatch(1), project }, agents);
    expect(outcome).toEqual({
      failure: { agent: 'describe', code: 'ModelOutputInvalid', reason: expect.stringMatching(/the model refused/) },
      usage: {
        describe: expect.objectContaining({ calls: 1, attempts: 2 }),
        total: expect.objectContaining({ calls: 1, attempts: 2 }),
      },
    });
  });

  it('records an undecodable image as the patch failing, not the batch', async () => {
    server = await startFakeOpenAiServer();
    const agents = createAgents(openAiSettings(server.baseUrl), { countTokens, env: {} });
    const outcome = await runPatchAgents({ image: Buffer.from('not an image'), project }, agents);
    expect(outcome).toMatchObject({ failure: { agent: 'describe', code: 'InvalidInput' } });
    expect(server.log).toHaveLength(0);
  });

  it('throws a misconfiguration instead of failing patch after patch', async () => {
    server = await startFakeOpenAiServer();
    const agents = createAgents(openAiSettings(server.baseUrl, { revise: { model: 'wrong' } }), {
      countTokens,
      env: {},
    });
    await expect(runPatchAgents({ image: syntheticPatch(1), project }, agents)).rejects.toMatchObject({
      code: 'AgentMisconfigured',
    });
  });
});

function caption(outcome: PatchOutcome): string {
  if (isPatchFailureRecord(outcome)) throw new Error(outcome.failure.reason);
  return outcome.caption;
}
