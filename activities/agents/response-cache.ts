import { z } from 'zod';
import type { ObjectStore } from '../store/object-store.js';
import { isStoreError } from '../store/store-errors.js';
import type { AgentBackend, AgentName } from './agent-settings.js';
import { sha256Hex } from './patch-image.js';

// Exactly one paid answer per request. Before a model is called, the store is asked for the answer
// to the same request; the answer is written back the moment it arrives, before it is validated or
// used, so a worker killed one instruction later, a retried activity or a rerun of the slide reads
// it instead of paying again. `putIfAbsent` settles races: the first answer written is the answer.
// Built-in answers are not cached: they cost nothing and are recomputed exactly.

export interface CacheKeyParts {
  agent: AgentName;
  backend: AgentBackend;
  model: string;
  promptVersion: string;
  /** Absent for the findings agent, which reads a report and no image. */
  imageSha256?: string | undefined;
  /** Everything else the request says: the messages' text and which retry of the answer it is. */
  input: string;
}

export const cachedAnswerSchema = z.object({
  content: z.string(),
  finishReason: z.string().nullable(),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
});

export type CachedAnswer = z.infer<typeof cachedAnswerSchema>;

export const defaultCachePrefix = 'agent-cache';

export function responseCacheKey(parts: CacheKeyParts, prefix = defaultCachePrefix): string {
  const hash = sha256Hex(
    JSON.stringify([
      parts.agent,
      parts.backend,
      parts.model,
      parts.promptVersion,
      parts.imageSha256 ?? '',
      parts.input,
    ]),
  );
  return `${prefix}/${parts.agent}/${hash}.json`;
}

export class ResponseCache {
  constructor(
    private readonly store: ObjectStore,
    private readonly onWarning?: (message: string) => void,
  ) {}

  async get(key: string): Promise<CachedAnswer | undefined> {
    let bytes: Buffer;
    try {
      bytes = await this.store.get(key);
    } catch (error) {
      if (isStoreError(error, 'NotFound')) return undefined;
      throw error;
    }
    try {
      return cachedAnswerSchema.parse(JSON.parse(bytes.toString('utf8')));
    } catch {
      // A damaged entry is a miss; the fresh answer cannot replace it (first write wins), so say so.
      this.onWarning?.(`unreadable agent cache entry ${key}; asking the model again`);
      return undefined;
    }
  }

  /** Writes the answer unless one is there already; either way returns the answer the store keeps. */
  async settle(key: string, answer: CachedAnswer): Promise<CachedAnswer> {
    const written = await this.store.putIfAbsent(key, Buffer.from(JSON.stringify(answer)), {
      contentType: 'application/json',
    });
    return written ? answer : ((await this.get(key)) ?? answer);
  }
}
