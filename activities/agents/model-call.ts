import { agentError } from './agent-errors.js';
import type { AgentName } from './agent-settings.js';
import type { AgentUsage } from '../contracts/usage.js';
import type { ChatAnswer, ChatRequest, OpenAiBackend } from './openai-backend.js';
import type { ResponseCache } from './response-cache.js';
import { responseCacheKey } from './response-cache.js';

// One answer from a model, paid for at most once: the response cache first, then the server, then
// validation. An answer that fails validation is followed by another request (a different seed,
// its own cache entry) up to `maxInvalidOutputRetries` times before the item fails. A later round
// (a rerun of a patch whose every answer was invalid) asks for the next answers in that sequence:
// the cached invalid ones would only fail it again.

export type AnswerCheck<T> = (content: string) => { ok: true; value: T } | { ok: false; reason: string };

export interface ModelCall {
  agent: AgentName;
  backend: OpenAiBackend;
  cache?: ResponseCache | undefined;
  promptVersion: string;
  imageSha256?: string | undefined;
  /** What about the image request is not in its hash (the size and quality it was sent at). */
  imageVariant?: string | undefined;
  maxInvalidOutputRetries: number;
  /** Rounds of answers asked for before (0, or absent: the first): round n asks answers n·(retries+1) on. */
  answerRound?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Counts requests, tokens and cache hits into the caller's usage. */
  usage: AgentUsage;
}

export async function askModel<T>(
  call: ModelCall,
  request: Omit<ChatRequest, 'seedOffset' | 'requestKey'>,
  check: AnswerCheck<T>,
  variant = '',
): Promise<T> {
  let reason = '';
  const answers = call.maxInvalidOutputRetries + 1;
  const first = (call.answerRound ?? 0) * answers;
  for (let retry = first; retry < first + answers; retry++) {
    const key = responseCacheKey({
      agent: call.agent,
      backend: 'openai',
      model: call.backend.model,
      promptVersion: call.promptVersion,
      imageSha256: call.imageSha256,
      input: JSON.stringify([
        request.system,
        request.text,
        call.imageVariant ?? '',
        request.jsonSchema?.name ?? '',
        variant,
        retry,
      ]),
    });
    const answer = await answerFor(call, key, { ...request, seedOffset: retry, requestKey: key });
    const result = answer.finishReason === 'length' ? cutOff(call) : check(answer.content);
    if (result.ok) return result.value;
    reason = result.reason;
  }
  throw agentError(
    'ModelOutputInvalid',
    call.agent,
    `${call.agent}: invalid answer from ${call.backend.model} (${answers} tried): ${reason}`,
    { reason, answers, model: call.backend.model },
  );
}

async function answerFor(
  call: ModelCall,
  key: string,
  request: ChatRequest,
): Promise<Pick<ChatAnswer, 'content' | 'finishReason'>> {
  const cached = await call.cache?.get(key);
  if (cached) {
    call.usage.cacheHits++;
    return cached;
  }
  const answer = await call.backend.complete(request, {
    signal: call.signal,
    onAttempt: () => call.usage.attempts++,
  });
  call.usage.promptTokens += answer.promptTokens;
  call.usage.completionTokens += answer.completionTokens;
  if (!call.cache) return answer;
  return call.cache.settle(key, {
    content: answer.content,
    finishReason: answer.finishReason,
    promptTokens: answer.promptTokens,
    completionTokens: answer.completionTokens,
  });
}

function cutOff(call: ModelCall): { ok: false; reason: string } {
  return { ok: false, reason: `over-long answer (cut off at maxTokens) from ${call.backend.model}` };
}
