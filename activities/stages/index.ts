import type { QueueRole } from '../contracts/task-queues.js';
import { createAgentActivities } from './agents.js';
import type { Agents } from '../agents/index.js';
import type { ClipModel } from '../clip/clip-model.js';
import { createDiagnosticActivities } from './diagnostic.js';
import { createReviewActivities } from './review.js';
import { createEvalActivities } from './eval.js';
import { createExportActivities } from './export.js';
import { createMaterializeActivities } from './materialize.js';
import { createRunActivities } from './run.js';
import type { RunSettings, RunSettingsOverrides } from '../contracts/run-settings.js';
import { createSelectActivities } from './select.js';
import type { ObjectStore } from '../store/object-store.js';
import { createTileActivities } from './tile.js';
import { createTrainActivities, type TrainingTools } from './train.js';

export interface ActivityDeps {
  store: ObjectStore;
  pathgenVersion: string;
  /** Machine-local folder for slides staged from the store and OpenSlide conversions. */
  slideCacheDir: string;
  slideCacheMaxBytes: number;
  /** Decoded tiles kept per open slide (absent: the reader's default). */
  tileCacheBytes?: number;
  /** This worker's agents (its model servers), built on first use. */
  agents: () => Promise<Agents>;
  /** This worker's CLIP model for a reference, loaded once with its execution providers. */
  loadClipModel: (model: string, signal: AbortSignal) => Promise<ClipModel>;
  /** This worker's config with a run's overrides, validated by the config schema. */
  resolveRunSettings: (overrides: RunSettingsOverrides | undefined) => RunSettings;
  /** CLIP token count of a caption, for the dataset card (absent: no token figures). */
  countTokens?: (text: string) => number;
  /** `model on provider` for each CLIP model this worker has open (doctor shows them). */
  clipSessions?: () => string[];
  /** The training environment's Python and our scripts (pathgenTrain). */
  training: TrainingTools;
}

/**
 * The activities each queue's workers register. Every queue also answers the diagnostic ping so
 * that `pathgen doctor` can check it. Stages add their activities to the queue they run on.
 */
export function createActivities(
  deps: ActivityDeps,
): Record<QueueRole, Record<string, (...args: never[]) => Promise<unknown>>> {
  const diagnostic = createDiagnosticActivities(deps);
  const taskQueues = () => deps.resolveRunSettings(undefined).taskQueues;
  const train = createTrainActivities({ ...deps, taskQueues });
  const evaluation = createEvalActivities({ ...deps, taskQueues });
  return {
    cpu: {
      ...diagnostic,
      ...createTileActivities(deps),
      ...createRunActivities(deps),
      ...createExportActivities(deps),
      ...createMaterializeActivities(deps),
      ...createReviewActivities(deps),
      prepareTraining: train.prepareTraining,
      prepareEval: evaluation.prepareEval,
      writeEvalReport: evaluation.writeEvalReport,
    },
    gpu: {
      ...diagnostic,
      ...createSelectActivities(deps),
      trainStage: train.trainStage,
      exportTrainedModel: train.exportTrainedModel,
      checkEvalData: evaluation.checkEvalData,
      zeroShotTask: evaluation.zeroShotTask,
      linearProbeTask: evaluation.linearProbeTask,
      slideTask: evaluation.slideTask,
    },
    agents: { ...diagnostic, ...createAgentActivities(deps) },
  };
}
