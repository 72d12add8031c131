import { describe, expect, it } from 'vitest';
import type { AgentsSettings } from '../../activities/agents/index.js';
import { AgentsConfig, applyAgentEnvShortcuts } from '../../workers/config/agents-schema.js';

describe('the agents config section', () => {
  it('defaults to the built-in backend for all four agents, and is the settings the agents take', () => {
    const settings: AgentsSettings = AgentsConfig.parse({});
    for (const agent of ['findings', 'describe', 'revise', 'summarize'] as const) {
      expect(settings[agent]).toMatchObject({
        backend: 'builtin',
        apiKeyEnv: 'PATHGEN_AGENT_API_KEY',
        inputSize: 336,
        jpegQuality: 90,
        timeoutSeconds: 120,
      });
    }
    expect(settings).toMatchObject({
      endpointConcurrency: 8,
      retry: { maxAttempts: 6, baseDelaySeconds: 1, maxDelaySeconds: 60 },
      maxInvalidOutputRetries: 2,
      summarizeTokenBudget: 77,
      describeMaxChars: 4000,
      reviseMaxChars: 4000,
    });
  });

  it('needs a base URL and a model for the openai backend, and says where they can come from', () => {
    const result = AgentsConfig.safeParse({ describe: { backend: 'openai' } });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['describe.baseUrl', 'required when agents.describe.backend is openai (or set PATHGEN_AGENT_BASE_URL)'],
      ['describe.model', 'required when agents.describe.backend is openai (or set PATHGEN_AGENT_MODEL)'],
    ]);
  });

  it('rejects unknown keys, unknown backends and non-http URLs', () => {
    expect(AgentsConfig.safeParse({ describe: { backnd: 'openai' } }).success).toBe(false);
    expect(AgentsConfig.safeParse({ revise: { backend: 'llava' } }).success).toBe(false);
    expect(
      AgentsConfig.safeParse({ summarize: { backend: 'openai', baseUrl: 'ftp://x/v1', model: 'm' } }).success,
    ).toBe(false);
  });
});

describe('applyAgentEnvShortcuts', () => {
  const env = {
    PATHGEN_AGENT_BACKEND: 'openai',
    PATHGEN_AGENT_BASE_URL: 'http://127.0.0.1:8000/v1',
    PATHGEN_AGENT_MODEL: 'pathgen-llava',
  };

  it('sets all four agents at once', () => {
    const { agents, sources } = applyAgentEnvShortcuts(undefined, env);
    const settings = AgentsConfig.parse(agents);
    for (const agent of ['findings', 'describe', 'revise', 'summarize'] as const)
      expect(settings[agent]).toMatchObject({
        backend: 'openai',
        baseUrl: env.PATHGEN_AGENT_BASE_URL,
        model: 'pathgen-llava',
      });
    expect(sources.get('agents.revise.model')).toBe('PATHGEN_AGENT_MODEL');
  });

  it('leaves what an agent sets itself in the config file', () => {
    const { agents, sources } = applyAgentEnvShortcuts(
      { findings: { backend: 'builtin' }, summarize: { model: 'small-llm', temperature: 0.5 } },
      env,
    );
    const settings = AgentsConfig.parse(agents);
    expect(settings.findings.backend).toBe('builtin');
    expect(settings.summarize).toMatchObject({ backend: 'openai', model: 'small-llm', temperature: 0.5 });
    expect(settings.describe.model).toBe('pathgen-llava');
    expect(sources.has('agents.findings.backend')).toBe(false);
  });

  it('changes nothing without the variables, and leaves a malformed section for the schema to report', () => {
    const raw = { describe: { backend: 'openai' } };
    expect(applyAgentEnvShortcuts(raw, {}).agents).toBe(raw);
    expect(applyAgentEnvShortcuts('oops', env).agents).toBe('oops');
  });
});
