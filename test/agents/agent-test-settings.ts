import type { AgentsSettings } from '../../activities/agents/index.js';
import { ClipTokenizer } from '../../activities/clip/index.js';
import { AgentsConfig } from '../../workers/config/agents-schema.js';
import { deepMerge } from '../../workers/config/load-config.js';
import { tinyMerges } from '../../workers/synthetic/clip-models/tiny-vocabulary.js';
import { defaultFakeModel } from '../helpers/fake-openai-server.js';

// Settings for agents on the fake server, through the real config schema, with retry delays small
// enough for tests. `patch` overrides any field.
export function openAiSettings(baseUrl: string, patch: Record<string, unknown> = {}): AgentsSettings {
  const agent = { backend: 'openai', baseUrl, model: defaultFakeModel, timeoutSeconds: 2, inputSize: 32 };
  return AgentsConfig.parse(
    deepMerge(
      {
        findings: agent,
        describe: agent,
        revise: agent,
        summarize: agent,
        retry: { maxAttempts: 6, baseDelaySeconds: 0.005, maxDelaySeconds: 0.05 },
        endpointConcurrency: 16,
      },
      patch,
    ),
  );
}

export const builtinSettings = (): AgentsSettings => AgentsConfig.parse({});

/** The CLIP tokenizer on the tests' tiny vocabulary: a real BPE count, about one token a character. */
export const tinyClip = ClipTokenizer.fromMerges(tinyMerges);
export const countTokens = (text: string): number => tinyClip.countTokens(text);

/** A small RGB patch whose pixels (and so its hash) differ with `index`. */
export function syntheticPatch(index: number, size = 24): { data: Buffer; width: number; height: number } {
  const data = Buffer.alloc(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (index * 37 + i * 11 + ((i * index) % 251)) & 0xff;
  return { data, width: size, height: size };
}
