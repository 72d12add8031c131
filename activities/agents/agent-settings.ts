// What the agents need to know to run, as plain data. The worker's config schema
// (workers/config/agents-schema.ts) produces exactly this shape; the domain code never reads config
// files or the environment itself, except the API key, from the variable the settings name.

export const agentNames = ['findings', 'describe', 'revise', 'summarize'] as const;
export type AgentName = (typeof agentNames)[number];

/** The three agents that work on one patch, in cascade order. */
export const patchAgentNames = ['describe', 'revise', 'summarize'] as const;
export type PatchAgentName = (typeof patchAgentNames)[number];

export const agentBackends = ['openai', 'builtin'] as const;
export type AgentBackend = (typeof agentBackends)[number];

export interface AgentSettings {
  backend: AgentBackend;
  /** OpenAI-compatible endpoint, up to and including `/v1`. Required for `openai`. */
  baseUrl?: string | undefined;
  /** Model name the server knows. Required for `openai`. */
  model?: string | undefined;
  /** Name of the environment variable that holds the API key (never the key itself). */
  apiKeyEnv: string;
  temperature: number;
  maxTokens: number;
  seed?: number | undefined;
  /** One HTTP request's limit; a request past it is retried like a 5xx. */
  timeoutSeconds: number;
  /** The patch is sent as a JPEG resized to fit this many pixels a side. */
  inputSize: number;
  jpegQuality: number;
}

export interface AgentRetrySettings {
  /** HTTP attempts per answer, the first included. */
  maxAttempts: number;
  baseDelaySeconds: number;
  /** Caps the backoff and a server's Retry-After alike. */
  maxDelaySeconds: number;
}

export interface AgentsSettings {
  findings: AgentSettings;
  describe: AgentSettings;
  revise: AgentSettings;
  summarize: AgentSettings;
  /** Requests in flight at once to one base URL, shared by every caller in the process. */
  endpointConcurrency: number;
  retry: AgentRetrySettings;
  /** Extra answers asked for after one that fails validation, before the patch is failed. */
  maxInvalidOutputRetries: number;
  /** Caption length limit in CLIP BPE tokens, start and end token included. */
  summarizeTokenBudget: number;
  describeMaxChars: number;
  reviseMaxChars: number;
}
