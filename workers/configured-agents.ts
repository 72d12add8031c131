import { createAgents } from '../activities/agents/index.js';
import type { Agents } from '../activities/agents/index.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import { captionTokenizer } from './caption-tokenizer.js';
import type { PathgenConfig } from './config/schema.js';

/**
 * The agents as this process's config sets them up, their answers cached in `store`. Settings are
 * checked (endpoint, model, key) before the first patch: a wrong setup fails at once, not per patch.
 */
export async function configuredAgents(
  config: Pick<PathgenConfig, 'agents' | 'clipVocabulary'>,
  store: ObjectStore | undefined,
  onWarning?: (message: string) => void,
): Promise<Agents> {
  const tokenizer = await captionTokenizer(config);
  return createAgents(config.agents, {
    countTokens: (text) => tokenizer.countTokens(text),
    store,
    ...(onWarning ? { onWarning } : {}),
  });
}
