import { afterEach, describe, expect, it } from 'vitest';
import { createAgents, isAgentError, promptVersion } from '../../activities/agents/index.js';
import type { AgentErrorCode, Agents } from '../../activities/agents/index.js';
import { faultFirst, startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import type { FakeOpenAiServer, FakeOpenAiServerOptions, FakeRequest } from '../helpers/fake-openai-server.js';
import { countTokens, openAiSettings, syntheticPatch } from './agent-test-settings.js';

// Every fault path of the openai backend, through the official client against a local server.

let server: FakeOpenAiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function agentsOn(
  options: FakeOpenAiServerOptions,
  settings: Record<string, unknown> = {},
  env: Record<string, string> = {},
): Promise<{ agents: Agents; fake: FakeOpenAiServer }> {
  server = await startFakeOpenAiServer(options);
  const agents = createAgents(openAiSettings(server.baseUrl, settings), { countTokens, env, random: () => 0.5 });
  return { agents, fake: server };
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string; details: object }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isAgentError(error)) throw new Error(`expected an agent error, got ${String(error)}`);
  return { code: error.code, message: error.message, details: error.details };
}

const patch = { image: syntheticPatch(1), project: 'TCGA-LUAD', findings: ['acinar adenocarcinoma'] };

describe('the openai backend', () => {
  it('sends the patch, prompt and generation settings, and reports usage', async () => {
    const bodies: FakeRequest[] = [];
    const { agents, fake } = await agentsOn(
      {
        answers: {
          describe: (request) => {
            bodies.push(request);
            return 'Sheets of tumour cells with enlarged nuclei fill the field.';
          },
        },
      },
      { describe: { temperature: 0.1, maxTokens: 300, seed: 7 } },
    );
    const result = await agents.describe(patch);
    expect(result).toMatchObject({
      description: 'Sheets of tumour cells with enlarged nuclei fill the field.',
      backend: 'openai',
      model: 'fake-pathology-vlm',
      promptVersion: promptVersion('describe'),
      usage: { calls: 1, attempts: 1, cacheHits: 0 },
    });
    expect(result.usage.promptTokens).toBeGreaterThan(576);
    expect(result.usage.completionTokens).toBeGreaterThan(0);
    const [request] = bodies;
    expect(request?.body).toMatchObject({ model: 'fake-pathology-vlm', temperature: 0.1, max_tokens: 300, seed: 7 });
    expect(request?.text).toContain('Organ: lung.');
    expect(request?.text).toContain('acinar adenocarcinoma');
    const image = (request?.body.messages as { content: { image_url?: { url: string } }[] }[])[1]?.content[0]?.image_url
      ?.url;
    expect(image).toMatch(/^data:image\/jpeg;base64,\/9j\//);
    expect(fake.log).toEqual([expect.objectContaining({ agent: 'describe', status: 200, patch: expect.any(String) })]);
  });

  it('waits out a 429 for as long as Retry-After says, then succeeds', async () => {
    const { agents, fake } = await agentsOn(
      { fault: faultFirst('rate-limit', 1), retryAfter: '1' },
      { retry: { maxDelaySeconds: 5 } },
    );
    const started = Date.now();
    const result = await agents.describe(patch);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(result.usage.attempts).toBe(2);
    expect(fake.log.map((e) => e.status)).toEqual([429, 200]);
  });

  it('retries 500s, malformed bodies and hung requests with backoff', async () => {
    const faults = ['server-error', 'malformed-json', 'hang', 'server-error'] as const;
    let n = 0;
    const { agents, fake } = await agentsOn(
      { fault: () => faults[n++] },
      { describe: { timeoutSeconds: 0.2 }, retry: { maxAttempts: 5 } },
    );
    const result = await agents.describe(patch);
    expect(result.usage.attempts).toBe(5);
    expect(fake.log.map((e) => e.fault ?? e.status)).toEqual([...faults, 200]);
  });

  it('gives up with ModelUnavailable once the attempts are spent', async () => {
    const { agents, fake } = await agentsOn({ fault: () => 'server-error' }, { retry: { maxAttempts: 3 } });
    const error = await failure(agents.describe(patch));
    expect(error.code).toBe<AgentErrorCode>('ModelUnavailable');
    expect(error.message).toMatch(/after 3 attempts: HTTP 500/);
    expect(fake.log).toHaveLength(3);
  });

  it('fails fast on a wrong model name: one request, a message that says what to fix', async () => {
    const { agents, fake } = await agentsOn({}, { describe: { model: 'no-such-model' } });
    const error = await failure(agents.describe(patch));
    expect(error.code).toBe<AgentErrorCode>('AgentMisconfigured');
    expect(error.message).toMatch(/wrong model name or base URL.*"no-such-model".*agents\.describe\.model/);
    expect(fake.log).toHaveLength(1);
  });

  it('fails fast on a 400, with a hint for the request that was refused', async () => {
    const { agents, fake } = await agentsOn({ fault: () => 'bad-request' });
    const error = await failure(agents.findings('Adenocarcinoma.'));
    expect(error.code).toBe<AgentErrorCode>('AgentMisconfigured');
    expect(error.message).toMatch(/HTTP 400.*response_format is not supported.*agents\.findings.*json_schema/);
    expect(fake.log).toHaveLength(1);
  });

  it('fails fast on a refused key, naming the variable to set', async () => {
    const { agents, fake } = await agentsOn({ apiKey: 'secret' }, {}, { PATHGEN_AGENT_API_KEY: 'stale' });
    const error = await failure(agents.describe(patch));
    expect(error.code).toBe<AgentErrorCode>('AgentMisconfigured');
    expect(error.message).toMatch(/HTTP 401.*PATHGEN_AGENT_API_KEY/);
    expect(fake.log).toHaveLength(1);
  });

  it('sends the key from the variable the settings name', async () => {
    const { agents } = await agentsOn(
      { apiKey: 'secret' },
      { describe: { apiKeyEnv: 'LAB_VLM_KEY' } },
      { LAB_VLM_KEY: 'secret' },
    );
    await expect(agents.describe(patch)).resolves.toMatchObject({ backend: 'openai' });
  });

  it('refuses to start without a key for a remote server, before any request', () => {
    const settings = openAiSettings('https://models.example.org/v1');
    expect(() => createAgents(settings, { countTokens, env: {} })).toThrow(
      expect.objectContaining({
        code: 'AgentMisconfigured',
        message: expect.stringMatching(/set the environment variable PATHGEN_AGENT_API_KEY/),
      }),
    );
  });

  it.each([
    ['empty', /empty answer/],
    ['refusal', /the model refused/],
    ['over-long', /over-long answer/],
    ['truncated', /cut off at maxTokens/],
  ] as const)('retries a %s answer, then fails the item with the reason', async (kind, reason) => {
    const { agents, fake } = await agentsOn({ fault: () => kind }, { maxInvalidOutputRetries: 2 });
    const error = await failure(agents.describe(patch));
    expect(error.code).toBe<AgentErrorCode>('ModelOutputInvalid');
    expect(error.message).toMatch(reason);
    expect(fake.log).toHaveLength(3);
  });

  it('asks again with another seed after an invalid answer', async () => {
    const seeds: unknown[] = [];
    let n = 0;
    const { agents } = await agentsOn(
      {
        answers: {
          describe: (request) => {
            seeds.push(request.body.seed);
            return n++ === 0 ? 'As an AI, I describe the provided context.' : 'Glands lined by columnar cells.';
          },
        },
      },
      { describe: { seed: 11 } },
    );
    await expect(agents.describe(patch)).resolves.toMatchObject({ description: 'Glands lined by columnar cells.' });
    expect(seeds).toEqual([11, 12]);
  });

  it('stops at once when the caller cancels, without retrying', async () => {
    const { agents, fake } = await agentsOn({ fault: () => 'hang' }, { describe: { timeoutSeconds: 30 } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('activity cancelled')), 50);
    const started = Date.now();
    await expect(agents.describe(patch, { signal: controller.signal })).rejects.toThrow('activity cancelled');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(fake.log).toHaveLength(1);
  });

  it('keeps requests to one endpoint within its concurrency limit', async () => {
    const { agents, fake } = await agentsOn({ latencyMs: 30 }, { endpointConcurrency: 3 });
    await Promise.all(Array.from({ length: 12 }, (_, i) => agents.describe({ image: syntheticPatch(i) })));
    expect(fake.log).toHaveLength(12);
    expect(fake.maxInFlight()).toBe(3);
  });

  it('extracts findings with a JSON-schema answer, and from JSON inside text', async () => {
    const bodies: FakeRequest[] = [];
    let n = 0;
    const { agents } = await agentsOn({
      answers: {
        findings: (request) => {
          bodies.push(request);
          return n++ === 0
            ? '{"findings": ["invasive ductal carcinoma", "Nottingham grade 2"]}'
            : 'Here they are:\n```json\n{"findings": ["margins negative"]}\n```';
        },
      },
    });
    await expect(agents.findings('Invasive ductal carcinoma, Nottingham grade 2.')).resolves.toMatchObject({
      findings: ['invasive ductal carcinoma', 'Nottingham grade 2'],
      backend: 'openai',
    });
    await expect(agents.findings('Margins negative.')).resolves.toMatchObject({ findings: ['margins negative'] });
    expect(bodies[0]?.body.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'findings' } });
    expect(bodies[0]?.text).toContain('Invasive ductal carcinoma, Nottingham grade 2.');
  });

  it('rejects a findings answer without JSON', async () => {
    const { agents } = await agentsOn({ answers: { findings: () => 'The report describes a carcinoma.' } });
    const error = await failure(agents.findings('Carcinoma.'));
    expect(error.message).toMatch(/no JSON object in the answer/);
  });
});
