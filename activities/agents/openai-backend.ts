import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletionContentPart,
  ChatCompletionCreateParamsNonStreaming,
} from 'openai/resources/chat/completions';
import { agentError } from './agent-errors.js';
import type { AgentName, AgentRetrySettings, AgentSettings } from './agent-settings.js';
import { endpointLimiter } from './endpoint-limiter.js';
import { abortReason, isRetryableStatus, retryAfterMs, retryDelayMs, sleep } from './retry-policy.js';

// One agent's connection to an OpenAI-compatible Chat Completions endpoint (vLLM, SGLang,
// llama.cpp, Ollama, LM Studio, OpenAI), through the official client.

export interface ChatRequest {
  system: string;
  text: string;
  /** The patch as a data URL; absent for text-only agents. */
  imageDataUrl?: string | undefined;
  /** Ask for a JSON answer of this schema (structured outputs). */
  jsonSchema?: { name: string; schema: Record<string, unknown> } | undefined;
  /** Added to the configured seed, so a retry after an invalid answer does not get the same answer. */
  seedOffset?: number | undefined;
  /** Sent as `x-pathgen-request-key`, so a server's logs can tell one answer's retries apart. */
  requestKey?: string | undefined;
}

export interface ChatAnswer {
  content: string;
  finishReason: string | null;
  promptTokens: number;
  completionTokens: number;
  /** HTTP requests this answer took. */
  attempts: number;
}

export interface CompleteOptions {
  signal?: AbortSignal | undefined;
  /** Called as each HTTP request is sent, so usage counts the attempts of failed answers too. */
  onAttempt?: (() => void) | undefined;
}

export interface OpenAiBackendOptions {
  retry: AgentRetrySettings;
  endpointConcurrency: number;
  env: Readonly<Record<string, string | undefined>>;
  /** For tests: a deterministic jitter. */
  random?: () => number;
}

/** Temperature used for retries after an invalid answer when the configured one is 0 (greedy decoding repeats itself). */
const retryTemperature = 0.3;

export class OpenAiBackend {
  readonly model: string;
  readonly baseUrl: string;
  private readonly client: OpenAI;

  constructor(
    readonly agent: AgentName,
    private readonly settings: AgentSettings,
    private readonly options: OpenAiBackendOptions,
  ) {
    const where = `agents.${agent}`;
    if (!settings.baseUrl)
      throw agentError('AgentMisconfigured', agent, `${where}.baseUrl is required for the openai backend`);
    if (!settings.model)
      throw agentError('AgentMisconfigured', agent, `${where}.model is required for the openai backend`);
    this.baseUrl = settings.baseUrl;
    this.model = settings.model;
    const apiKey = options.env[settings.apiKeyEnv];
    if (!apiKey && !isLocalUrl(settings.baseUrl)) {
      throw agentError(
        'AgentMisconfigured',
        agent,
        `no API key for ${settings.baseUrl}: set the environment variable ${settings.apiKeyEnv} (named by ${where}.apiKeyEnv)`,
        { apiKeyEnv: settings.apiKeyEnv, baseUrl: settings.baseUrl },
      );
    }
    this.client = new OpenAI({
      baseURL: settings.baseUrl,
      // Local servers usually take no key; the client insists on one, and they ignore it.
      apiKey: apiKey || 'no-key',
      timeout: settings.timeoutSeconds * 1000,
      // Our retry policy (retry-policy.ts) is the only one: attempts, backoff and Retry-After come
      // from our config, and each attempt passes through the endpoint's concurrency limit.
      maxRetries: 0,
      logLevel: 'off',
    });
  }

  async complete(request: ChatRequest, options: CompleteOptions = {}): Promise<ChatAnswer> {
    const { signal, onAttempt } = options;
    const limiter = endpointLimiter(this.baseUrl, this.options.endpointConcurrency);
    const body = this.body(request);
    const headers = request.requestKey ? { 'x-pathgen-request-key': request.requestKey } : undefined;
    let lastReason = '';
    for (let attempt = 1; ; attempt++) {
      let retryAfter: number | undefined;
      try {
        const completion = await limiter.run(() => {
          onAttempt?.();
          return this.client.chat.completions.create(body, { signal, headers });
        }, signal);
        return { ...readCompletion(completion), attempts: attempt };
      } catch (error) {
        if (signal?.aborted) throw abortReason(signal);
        const failure = this.classify(error, request);
        if (!failure.retryable) throw failure.error;
        lastReason = failure.reason;
        retryAfter = failure.retryAfterMs;
      }
      if (attempt >= this.options.retry.maxAttempts) {
        throw agentError(
          'ModelUnavailable',
          this.agent,
          `${this.baseUrl} did not answer after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${lastReason}`,
          { baseUrl: this.baseUrl, model: this.model, attempts: attempt, lastReason },
        );
      }
      await sleep(retryDelayMs(attempt, this.options.retry, retryAfter, this.options.random), signal);
    }
  }

  private body(request: ChatRequest): ChatCompletionCreateParamsNonStreaming {
    const content: ChatCompletionContentPart[] = [];
    if (request.imageDataUrl) content.push({ type: 'image_url', image_url: { url: request.imageDataUrl } });
    content.push({ type: 'text', text: request.text });
    const offset = request.seedOffset ?? 0;
    const temperature = offset > 0 && this.settings.temperature === 0 ? retryTemperature : this.settings.temperature;
    return {
      model: this.model,
      messages: [
        { role: 'system', content: request.system },
        { role: 'user', content: request.imageDataUrl ? content : request.text },
      ],
      temperature,
      max_tokens: this.settings.maxTokens,
      ...(this.settings.seed !== undefined ? { seed: this.settings.seed + offset } : {}),
      ...(request.jsonSchema
        ? {
            response_format: {
              type: 'json_schema',
              json_schema: { name: request.jsonSchema.name, schema: request.jsonSchema.schema, strict: true },
            },
          }
        : {}),
    };
  }

  private classify(
    error: unknown,
    request: ChatRequest,
  ): { retryable: true; reason: string; retryAfterMs?: number } | { retryable: false; error: Error } {
    const where = `agents.${this.agent}`;
    if (error instanceof APIUserAbortError) return { retryable: false, error };
    if (error instanceof APIConnectionTimeoutError)
      return { retryable: true, reason: `no answer within ${this.settings.timeoutSeconds} s` };
    if (error instanceof APIConnectionError)
      return {
        retryable: true,
        reason: `connection failed (${error.cause instanceof Error ? error.cause.message : error.message})`,
      };
    if (error instanceof APIError && typeof error.status === 'number') {
      const status = error.status;
      if (isRetryableStatus(status)) {
        const wait = retryAfterMs(error.headers as Headers | undefined);
        return { retryable: true, reason: `HTTP ${status}`, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
      }
      const details = { status, baseUrl: this.baseUrl, model: this.model, serverMessage: error.message };
      const fix =
        status === 404
          ? `wrong model name or base URL: ${this.baseUrl} has no model ${JSON.stringify(this.model)} (check ${where}.model and ${where}.baseUrl)`
          : status === 401 || status === 403
            ? `the server refused the API key: put a valid key in the environment variable ${this.settings.apiKeyEnv} (named by ${where}.apiKeyEnv)`
            : `the server rejected the request (${error.message}): check ${where} (${
                request.jsonSchema
                  ? 'does the server support response_format json_schema?'
                  : request.imageDataUrl
                    ? 'does the model take images? maxTokens within its context?'
                    : 'maxTokens within the model context? temperature?'
              })`;
      return {
        retryable: false,
        error: agentError('AgentMisconfigured', this.agent, `HTTP ${status} from ${this.baseUrl}: ${fix}`, details, {
          cause: error,
        }),
      };
    }
    if (error instanceof SyntaxError || error instanceof MalformedCompletion)
      return { retryable: true, reason: `malformed response (${error.message})` };
    return { retryable: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

class MalformedCompletion extends Error {}

function readCompletion(completion: unknown): Omit<ChatAnswer, 'attempts'> {
  const value = completion as {
    choices?: { message?: { content?: unknown }; finish_reason?: unknown }[];
    usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
  } | null;
  const choice = Array.isArray(value?.choices) ? value.choices[0] : undefined;
  if (!choice || typeof choice !== 'object') throw new MalformedCompletion('no choices in the completion');
  const content = choice.message?.content;
  if (content !== null && content !== undefined && typeof content !== 'string')
    throw new MalformedCompletion('message content is not text');
  const count = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : 0);
  return {
    content: content ?? '',
    finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
    promptTokens: count(value?.usage?.prompt_tokens),
    completionTokens: count(value?.usage?.completion_tokens),
  };
}

/**
 * Servers on this machine or on a private network (loopback, private IPv4 ranges, single-label
 * names such as a compose service, `.local` / `.internal` / `.lan` names) usually take no key.
 * Anything else without a key fails before the first request.
 */
export function isLocalUrl(baseUrl: string): boolean {
  let host: string;
  try {
    host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false;
  }
  if (host === '::1' || host === '0.0.0.0' || host === 'localhost' || host.endsWith('.localhost')) return true;
  const ipv4 = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
  if (ipv4) {
    const [a, b] = [Number(ipv4[1]), Number(ipv4[2])];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  if (host.includes(':')) return /^f[cd]/.test(host);
  return !host.includes('.') || /\.(?:local|internal|lan|home\.arpa)$/.test(host);
}
