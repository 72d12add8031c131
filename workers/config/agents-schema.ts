import { z } from 'zod';

// The `agents` section: which backend and model each of the four agents uses, and how hard to try.
// The embedded default is the built-in backend for all four, which needs no server. Produces
// exactly the AgentsSettings the domain code takes (activities/agents/agent-settings.ts).

const nonEmpty = z.string().trim().min(1);

function agent(defaults: { maxTokens: number; temperature: number }) {
  return z.strictObject({
    backend: z.enum(['openai', 'builtin']).default('builtin'),
    /** OpenAI-compatible endpoint including `/v1`, e.g. http://127.0.0.1:8000/v1 for vLLM. */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    model: nonEmpty.optional(),
    /** Environment variable holding the API key, never the key itself. */
    apiKeyEnv: nonEmpty.default('PATHGEN_AGENT_API_KEY'),
    temperature: z.number().min(0).max(2).default(defaults.temperature),
    maxTokens: z.number().int().positive().default(defaults.maxTokens),
    seed: z.number().int().optional(),
    /** One HTTP request's limit; past it the request is retried like a 5xx. */
    timeoutSeconds: z.number().positive().default(120),
    /** The patch is sent as a JPEG fitted into this many pixels a side (PathGen-LLaVA reads 336). */
    inputSize: z.number().int().min(16).max(4096).default(336),
    jpegQuality: z.number().int().min(1).max(100).default(90),
  });
}

function requireEndpoint(name: string) {
  return (
    value: { backend: string; baseUrl?: string | undefined; model?: string | undefined },
    ctx: z.RefinementCtx,
  ) => {
    if (value.backend !== 'openai') return;
    for (const key of ['baseUrl', 'model'] as const) {
      if (value[key] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `required when agents.${name}.backend is openai (or set PATHGEN_AGENT_${key === 'baseUrl' ? 'BASE_URL' : 'MODEL'})`,
        });
    }
  };
}

const retry = z.strictObject({
  /** HTTP attempts per answer, the first included. */
  maxAttempts: z.number().int().min(1).max(100).default(6),
  baseDelaySeconds: z.number().positive().default(1),
  /** Caps the backoff and a server's Retry-After alike. */
  maxDelaySeconds: z.number().positive().default(60),
});

export const AgentsConfig = z.strictObject({
  findings: agent({ maxTokens: 512, temperature: 0 }).superRefine(requireEndpoint('findings')).prefault({}),
  describe: agent({ maxTokens: 768, temperature: 0.2 }).superRefine(requireEndpoint('describe')).prefault({}),
  revise: agent({ maxTokens: 768, temperature: 0 }).superRefine(requireEndpoint('revise')).prefault({}),
  summarize: agent({ maxTokens: 160, temperature: 0 }).superRefine(requireEndpoint('summarize')).prefault({}),
  /** Requests in flight at once to one base URL, shared by all activities of a worker process. */
  endpointConcurrency: z.number().int().positive().default(8),
  retry: retry.prefault({}),
  /** Extra answers asked for after an invalid one before the patch is recorded as failed. */
  maxInvalidOutputRetries: z.number().int().min(0).max(10).default(2),
  /** Caption limit in CLIP BPE tokens, start and end token included (CLIP reads 77). */
  summarizeTokenBudget: z.number().int().min(8).max(1024).default(77),
  describeMaxChars: z.number().int().positive().default(4000),
  reviseMaxChars: z.number().int().positive().default(4000),
  /** Patches per agent activity. */
  batchSize: z.number().int().positive().max(1024).default(64),
});

export type AgentsConfig = z.infer<typeof AgentsConfig>;

/** The environment variables that set all four agents at once; each agent's own settings win. */
export const agentEnvShortcuts = [
  { name: 'PATHGEN_AGENT_BACKEND', key: 'backend', about: '`openai` or `builtin` for all four agents' },
  { name: 'PATHGEN_AGENT_BASE_URL', key: 'baseUrl', about: 'OpenAI-compatible base URL for all four agents' },
  { name: 'PATHGEN_AGENT_MODEL', key: 'model', about: 'model name for all four agents' },
] as const;

const agentKeys = ['findings', 'describe', 'revise', 'summarize'] as const;

/**
 * Fills `backend`, `baseUrl` and `model` of every agent from PATHGEN_AGENT_BACKEND,
 * PATHGEN_AGENT_BASE_URL and PATHGEN_AGENT_MODEL where the raw section (from the config file) does
 * not set them. PATHGEN_AGENT_API_KEY needs no filling: it is the default `apiKeyEnv`, so the key
 * is read from it unless an agent names another variable. `sources` maps each dotted path set here
 * to its variable, for error messages.
 */
export function applyAgentEnvShortcuts(
  rawAgents: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { agents: unknown; sources: Map<string, string> } {
  const sources = new Map<string, string>();
  const present = agentEnvShortcuts.filter((s) => (env[s.name] ?? '').trim() !== '');
  if (present.length === 0 || (rawAgents !== undefined && !isObject(rawAgents))) return { agents: rawAgents, sources };
  const section: Record<string, unknown> = { ...(rawAgents ?? {}) };
  for (const name of agentKeys) {
    const current = section[name];
    if (current !== undefined && !isObject(current)) continue;
    const filled: Record<string, unknown> = { ...(current ?? {}) };
    for (const shortcut of present) {
      if (filled[shortcut.key] !== undefined) continue;
      filled[shortcut.key] = (env[shortcut.name] ?? '').trim();
      sources.set(`agents.${name}.${shortcut.key}`, shortcut.name);
    }
    section[name] = filled;
  }
  return { agents: section, sources };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
