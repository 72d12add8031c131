import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Agents } from '../activities/agents/index.js';
import { errorMessage } from '../activities/common/errors.js';
import type { ActivityDeps } from '../activities/stages/index.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import { setDecodeThreads } from '../activities/wsi/native-codecs.js';
import { captionTokenizer } from './caption-tokenizer.js';
import { resolveRunSettings } from './config/run-settings.js';
import type { PathgenConfig } from './config/schema.js';
import { configuredAgents } from './configured-agents.js';
import { clipModelLoader } from './configured-clip.js';
import { pathgenVersion, trainingTools } from './package-info.js';

/**
 * What the activities get from a worker built from `config`: the store, the slide cache, the
 * agents (built on first use), the CLIP loader, run settings, the caption tokenizer and the
 * training tools. The worker and bench/run.ts both build theirs here, so they run the same code.
 */
export async function workerActivityDeps(
  config: PathgenConfig,
  store: ObjectStore,
  warn: (message: string) => void,
): Promise<ActivityDeps> {
  setDecodeThreads(config.reader.threads || availableParallelism());
  let agents: Promise<Agents> | undefined;
  // The dataset card counts caption tokens with CLIP's vocabulary; without it the card omits them.
  const countTokens = await captionTokenizer(config).then(
    (tokenizer) => (text: string) => tokenizer.countTokens(text),
    (error: unknown) => {
      warn(`caption token statistics off: ${errorMessage(error)}`);
      return undefined;
    },
  );
  const clipModels = clipModelLoader(config, store, warn);
  return {
    store,
    pathgenVersion,
    slideCacheDir: path.resolve(config.slideCache.dir),
    slideCacheMaxBytes: config.slideCache.maxGiB * 2 ** 30,
    tileCacheBytes: Math.round(config.reader.tileCacheMiB * 2 ** 20),
    agents: () => (agents ??= configuredAgents(config, store, warn)),
    loadClipModel: clipModels,
    clipSessions: () => clipModels.sessions(),
    resolveRunSettings: (overrides: unknown) => resolveRunSettings(config, overrides),
    training: {
      python: config.trainPython ?? trainingTools.defaultPython,
      trainScript: trainingTools.trainScript,
      exportScript: trainingTools.exportScript,
    },
    ...(countTokens ? { countTokens } : {}),
  };
}
