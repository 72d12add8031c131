import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentName } from '../../activities/agents/index.js';
import { agentNames, agentPrompts } from '../../activities/agents/index.js';

// An OpenAI-compatible Chat Completions server for tests, driven through the real `openai` client:
// scripted answers per agent (recognised by our system prompts), a request log, and injectable
// faults. Nothing here is clever on purpose: each fault is one branch a reader can check.

export type FakeFault =
  | 'rate-limit' // 429 with Retry-After (and retry-after-ms when `retryAfterMs` is set)
  | 'server-error' // 500
  | 'hang' // never answers; the client's timeout ends the request
  | 'malformed-json' // 200 with a body that is not JSON
  | 'empty' // 200 with empty content
  | 'refusal' // 200 with a refusal
  | 'over-long' // 200 with an answer far longer than any cap
  | 'truncated' // 200 cut off at max_tokens (finish_reason "length")
  | 'bad-request' // 400, as a server that does not support a request field answers
  | 'unknown-model' // 404 model_not_found
  | 'bad-key'; // 401

export interface FakeRequest {
  agent: AgentName | 'unknown';
  model: string;
  system: string;
  text: string;
  /** First 16 hex digits of the SHA-256 of the image bytes sent, for image requests. */
  patch?: string | undefined;
  /** The `x-pathgen-request-key` header: one per answer asked for (agent, patch, prompt, retry). */
  requestKey?: string | undefined;
  /** How many earlier requests carried the same request key (or, without one, the same body). */
  repeat: number;
  body: Record<string, unknown>;
}

export interface FakeLogEntry {
  index: number;
  agent: AgentName | 'unknown';
  model: string;
  patch?: string | undefined;
  requestKey?: string | undefined;
  /** HTTP status sent; 0 for a request left hanging. */
  status: number;
  fault?: FakeFault | undefined;
}

export interface FakeOpenAiServerOptions {
  /** Model names the server knows; any other is a 404. */
  models?: readonly string[];
  /** When set, requests must carry `Authorization: Bearer <apiKey>` or get a 401. */
  apiKey?: string;
  answers?: Partial<Record<AgentName, (request: FakeRequest) => string>>;
  fault?: (request: FakeRequest) => FakeFault | undefined;
  /** Retry-After header value sent with 429s (seconds or an HTTP date). */
  retryAfter?: string;
  /** Also send OpenAI's `retry-after-ms` with 429s. */
  retryAfterMs?: number;
  /** Time to answer each request, to let concurrency show. */
  latencyMs?: number;
  /** Holds a request (logged, unanswered) until the promise it returns settles; undefined: no hold. */
  hold?: (request: FakeRequest) => Promise<void> | undefined;
}

export interface FakeOpenAiServer {
  /** Base URL including /v1, as the agents' config takes it. */
  baseUrl: string;
  log: FakeLogEntry[];
  /** Most requests in progress at one moment. */
  maxInFlight(): number;
  setFault(fault: FakeOpenAiServerOptions['fault']): void;
  close(): Promise<void>;
}

export const defaultFakeModel = 'fake-pathology-vlm';

export async function startFakeOpenAiServer(options: FakeOpenAiServerOptions = {}): Promise<FakeOpenAiServer> {
  const models = new Set(options.models ?? [defaultFakeModel]);
  const log: FakeLogEntry[] = [];
  const repeats = new Map<string, number>();
  let fault = options.fault;
  let inFlight = 0;
  let maxInFlight = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { message: String(error) } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
      return;
    }
    const body = JSON.parse(raw) as Record<string, unknown>;
    const request = describeRequest(body, req, repeats);
    const entry: FakeLogEntry = {
      index: log.length,
      agent: request.agent,
      model: request.model,
      patch: request.patch,
      requestKey: request.requestKey,
      status: 0,
    };
    log.push(entry);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    await options.hold?.(request);

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      entry.status = 401;
      send(res, 401, {
        error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' },
      });
      return;
    }
    if (!models.has(request.model)) {
      entry.status = 404;
      send(res, 404, modelNotFound(request.model));
      return;
    }
    const injected = fault?.(request);
    entry.fault = injected;
    switch (injected) {
      case 'hang':
        return;
      case 'rate-limit': {
        entry.status = 429;
        const headers: Record<string, string> = { 'retry-after': options.retryAfter ?? '1' };
        if (options.retryAfterMs !== undefined) headers['retry-after-ms'] = String(options.retryAfterMs);
        send(res, 429, { error: { message: 'Rate limit reached', type: 'rate_limit_error' } }, headers);
        return;
      }
      case 'server-error':
        entry.status = 500;
        send(res, 500, { error: { message: 'internal error', type: 'server_error' } });
        return;
      case 'bad-request':
        entry.status = 400;
        send(res, 400, { error: { message: 'response_format is not supported', type: 'invalid_request_error' } });
        return;
      case 'unknown-model':
        entry.status = 404;
        send(res, 404, modelNotFound(request.model));
        return;
      case 'bad-key':
        entry.status = 401;
        send(res, 401, { error: { message: 'Incorrect API key provided.', code: 'invalid_api_key' } });
        return;
      case 'malformed-json':
        entry.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id": "chatcmpl-broken", "choices": [{"message": ');
        return;
      default:
        break;
    }
    const content =
      injected === 'empty'
        ? ''
        : injected === 'refusal'
          ? "I'm sorry, but I cannot help with describing this image."
          : injected === 'over-long' || injected === 'truncated'
            ? longAnswer()
            : answerFor(request, options.answers);
    entry.status = 200;
    send(res, 200, completion(request.model, content, injected === 'truncated' ? 'length' : 'stop', request));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    log,
    maxInFlight: () => maxInFlight,
    setFault(next) {
      fault = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * Faults for about `rate` of all requests, of the given kinds, decided by a hash of the seed, the
 * request key and how often that key was seen: the same requests fail in every run, whatever order
 * concurrency sends them in, and a retry of a failed request is drawn afresh.
 */
export function seededFaults(options: {
  rate: number;
  seed: number;
  kinds: readonly FakeFault[];
}): (request: FakeRequest) => FakeFault | undefined {
  return (request) => {
    const identity = request.requestKey ?? JSON.stringify(request.body);
    const digest = createHash('sha256').update(`${options.seed}:${identity}:${request.repeat}`).digest();
    if (digest.readUInt32BE(0) / 2 ** 32 >= options.rate) return undefined;
    return options.kinds[digest.readUInt32BE(4) % options.kinds.length];
  };
}

/** The given fault for the first `count` requests (of one agent, when named), then none. */
export function faultFirst(
  kind: FakeFault,
  count: number,
  agent?: AgentName,
): (request: FakeRequest) => FakeFault | undefined {
  let left = count;
  return (request) => {
    if (left <= 0 || (agent !== undefined && request.agent !== agent)) return undefined;
    left--;
    return kind;
  };
}

function describeRequest(
  body: Record<string, unknown>,
  req: IncomingMessage,
  repeats: Map<string, number>,
): FakeRequest {
  const messages = (Array.isArray(body.messages) ? body.messages : []) as { role?: string; content?: unknown }[];
  const system = messages.find((m) => m.role === 'system')?.content;
  const user = messages.find((m) => m.role === 'user')?.content;
  const parts = (Array.isArray(user) ? user : [{ type: 'text', text: user }]) as {
    type?: string;
    text?: string;
    image_url?: { url?: string };
  }[];
  const text = parts.find((p) => p.type === 'text')?.text ?? '';
  const image = parts.find((p) => p.type === 'image_url')?.image_url?.url;
  const systemText = typeof system === 'string' ? system : '';
  const agent = agentNames.find((name) => systemText.startsWith(agentPrompts[name].system.slice(0, 60))) ?? 'unknown';
  const header = req.headers['x-pathgen-request-key'];
  const requestKey = typeof header === 'string' ? header : undefined;
  const identity = requestKey ?? JSON.stringify(body);
  const repeat = repeats.get(identity) ?? 0;
  repeats.set(identity, repeat + 1);
  return {
    agent,
    model: typeof body.model === 'string' ? body.model : '',
    system: systemText,
    text,
    patch: image ? sha256(Buffer.from(image.replace(/^data:[^,]*,/, ''), 'base64')).slice(0, 16) : undefined,
    requestKey,
    repeat,
    body,
  };
}

function answerFor(request: FakeRequest, answers: FakeOpenAiServerOptions['answers']): string {
  if (request.agent === 'unknown') return 'unrecognised request';
  const scripted = answers?.[request.agent];
  return scripted ? scripted(request) : defaultAnswers[request.agent](request);
}

/** Plausible answers that differ from patch to patch, so edits and captions can be checked. */
export const defaultAnswers: Record<AgentName, (request: FakeRequest) => string> = {
  findings: () =>
    JSON.stringify({ findings: ['moderately differentiated adenocarcinoma', 'perineural invasion present'] }),
  describe: (request) => {
    const variant = parseInt((request.patch ?? '0').slice(0, 4), 16);
    const nuclei = ['enlarged, hyperchromatic', 'round, vesicular', 'pleomorphic, irregular'][variant % 3];
    const pattern = ['irregular cribriform glands', 'solid nests', 'crowded tubules'][(variant >> 2) % 3];
    return (
      `The field shows tumour cells with ${nuclei} nuclei and prominent nucleoli. ` +
      `They form ${pattern} within a desmoplastic stroma. ` +
      'Mitotic figures are present. Scattered lymphocytes infiltrate the stroma.'
    );
  },
  revise: (request) => {
    const description = request.text.split('Description to check:\n')[1] ?? '';
    return description
      .replace('prominent nucleoli', 'small nucleoli')
      .replace('Mitotic figures are present. ', '')
      .concat(' Focal necrosis is seen.');
  },
  summarize: (request) => {
    const organ = /^Organ: (.+)$/m.exec(request.text)?.[1] ?? 'tissue';
    return `Atypical glands in desmoplastic stroma, likely adenocarcinoma of the ${organ}.`;
  },
};

function longAnswer(): string {
  return Array.from({ length: 400 }, (_, i) => `Region ${i} holds ${i * 7} cells beside vessel ${i * 13}.`).join(' ');
}

function completion(model: string, content: string, finishReason: string, request: FakeRequest): object {
  return {
    id: `chatcmpl-${sha256(request.system + request.text).slice(0, 12)}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason }],
    usage: {
      prompt_tokens: Math.ceil((request.system.length + request.text.length) / 4) + (request.patch ? 576 : 0),
      completion_tokens: Math.ceil(content.length / 4),
      total_tokens: 0,
    },
  };
}

function modelNotFound(model: string): object {
  return {
    error: {
      message: `The model \`${model}\` does not exist or you do not have access to it.`,
      type: 'invalid_request_error',
      code: 'model_not_found',
    },
  };
}

function send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
