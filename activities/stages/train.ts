import { Context } from '@temporalio/activity';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { TaskQueues } from '../contracts/task-queues.js';
import { withTypedFailures } from '../runtime/activity-failure.js';
import { PathgenError } from '../common/errors.js';
import { whileHeartbeating } from '../runtime/heartbeat.js';
import { getIfExists } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import {
  CheckpointSync,
  checkpointFileName,
  clearFolder,
  downloadFile,
  newestStoredCheckpoint,
  uploadFile,
} from '../train/checkpoints.js';
import { exportTrainedModel, type ExportModelInput, type ExportModelResult } from '../train/model-export.js';
import { trainKeys } from '../contracts/keys.js';
import { dataloaderWorkers, requireShardPerProcess } from '../train/processes-per-node.js';
import { parseTrainInput, type TrainStageSpec } from '../train/train-input.js';
import type { TrainInput } from '../train/train-input.js';
import { runTrainingAttempt } from '../train/train-attempt.js';
import { expandBracePattern } from '../train/brace-pattern.js';
import { resolveTrainingDataset, stageDataset } from '../train/training-data.js';
import type { ResolvedDataset, StagedDataset } from '../train/training-data.js';

// The workflow takes its input and result types from here, the train stage's factory.
export type { ExportModelResult, TrainInput };

// The training activities (GPU queue): one open_clip run per stage as a child process, with its
// progress in the heartbeat, its checkpoints copied to the store as they complete, and a retry on
// any machine resuming from the newest stored checkpoint. Which stage comes next, and what it starts
// from, is the workflow's business (workflows/train.ts).

export interface TrainingTools {
  /** The Python of the training environment (infra/install-tools.sh --train). */
  python: string;
  /** infra/train/pathgen_train.py */
  trainScript: string;
  /** infra/export-clip-onnx.py */
  exportScript: string;
}

export interface TrainDeps {
  store: ObjectStore;
  slideCacheDir: string;
  pathgenVersion: string;
  training: TrainingTools;
  taskQueues: () => TaskQueues;
}

export interface TrainPlan {
  input: ReturnType<typeof parseTrainInput>;
  /** This deployment's task queues, for the stages' activities. */
  taskQueues: TaskQueues;
  /** Per stage, its datasets pinned to the export version read now: retries read the same bytes. */
  datasets: ResolvedDataset[][];
}

export interface TrainStageInput {
  trainId: string;
  model: string;
  forceQuickGelu: boolean;
  stage: TrainStageSpec;
  datasets: ResolvedDataset[];
  /** Local path, store key or open_clip tag; a previous stage's checkpoint key for later stages. */
  initialWeights?: string;
  /** Stored checkpoints kept (newest first); 0: all. */
  keepCheckpoints: number;
  /** Trainer processes under torchrun (absent, from workflows started before it existed: 1). */
  processesPerNode?: number;
}

export interface TrainStageResult {
  stage: string;
  /** Store key of the last epoch's checkpoint. */
  checkpointKey: string;
  epochs: number;
  /** The epoch the last attempt resumed from (0: from the start). */
  resumedFromEpoch: number;
  attempt: number;
  /** Trainer processes (open_clip's world size on one node). */
  processesPerNode: number;
  /** Optimizer steps from the start of the stage at its last progress line (null: none this attempt). */
  steps: number | null;
  finalLoss: number | null;
  samplesPerSecond: number | null;
  /** 'cpu' when the last attempt trained on the CPU for want of CUDA. */
  device: 'cpu' | 'default';
  datasets: Array<Omit<StagedDataset, 'localPattern'>>;
  initialWeights: string | null;
  logKey: string;
  paramsKey: string | null;
}

/** What the Temporal UI shows for a running stage (the activity's heartbeat details). */
export interface TrainHeartbeat {
  stage: string;
  phase: 'staging-data' | 'staging-weights' | 'training' | 'uploading';
  attempt: number;
  resumedFromEpoch: number;
  epochs: number;
  /** 1-based epoch being trained. */
  epoch?: number;
  /** Optimizer steps of this stage so far. */
  step?: number;
  samplesSeen?: number;
  samplesPerEpoch?: number;
  loss?: number;
  samplesPerSecond?: number;
  lr?: number;
  latestCheckpoint?: string;
  /** 'cpu' when open_clip found no CUDA device and fell back to the CPU. */
  device?: 'cpu';
  shardsStaged?: number;
  shards?: number;
}

// A readdir a second: a new checkpoint reaches the store within about a second of being written.
const checkpointPollMs = 1_000;

export function createTrainActivities(deps: TrainDeps) {
  return {
    /** Validates the input and pins every dataset to what is exported now. */
    prepareTraining: (input: TrainInput) => withTypedFailures(() => prepareTraining(deps, input)),
    trainStage: (input: TrainStageInput) => withTypedFailures(() => trainStage(deps, input)),
    exportTrainedModel: (input: ExportModelInput): Promise<ExportModelResult> => {
      let phase = 'starting';
      return withTypedFailures(() =>
        whileHeartbeating(
          () => ({ phase }),
          () =>
            exportTrainedModel(
              { store: deps.store, workDir: workDir(deps, input.trainId, 'export'), tools: deps.training },
              input,
              Context.current().cancellationSignal,
              (next) => (phase = next),
            ),
        ),
      );
    },
  };
}

export type TrainActivities = ReturnType<typeof createTrainActivities>;

async function prepareTraining(deps: TrainDeps, raw: TrainInput): Promise<TrainPlan> {
  const input = parseTrainInput(raw);
  const datasets: ResolvedDataset[][] = [];
  for (const stage of input.stages) {
    const resolved = await Promise.all(stage.datasets.map((ref) => resolveTrainingDataset(deps.store, ref)));
    const shards = resolved.reduce((sum, dataset) => sum + expandBracePattern(dataset.pattern).length, 0);
    requireShardPerProcess(stage.name, shards, input.processesPerNode);
    datasets.push(resolved);
  }
  return { input, taskQueues: deps.taskQueues(), datasets };
}

function workDir(deps: TrainDeps, trainId: string, part: string): string {
  return path.join(deps.slideCacheDir, 'training', trainId, part);
}

async function trainStage(deps: TrainDeps, input: TrainStageInput): Promise<TrainStageResult> {
  const { store } = deps;
  const context = Context.current();
  const signal = context.cancellationSignal;
  const prefix = trainKeys.stage(input.trainId, input.stage.name);
  const checkpointsPrefix = trainKeys.checkpoints(prefix);
  const resultKey = trainKeys.result(prefix);
  const done = await getIfExists(store, resultKey);
  if (done) return JSON.parse(done.toString('utf8')) as TrainStageResult;

  const { epochs } = input.stage.hyperparameters;
  const processesPerNode = input.processesPerNode ?? 1;
  const attempt = context.info.attempt;
  const dir = workDir(deps, input.trainId, input.stage.name);
  const resumePoint = await newestStoredCheckpoint(store, checkpointsPrefix);
  const resumedFromEpoch = resumePoint?.epoch ?? 0;
  const beat: TrainHeartbeat = {
    stage: input.stage.name,
    phase: 'staging-data',
    attempt,
    resumedFromEpoch,
    epochs,
  };
  return whileHeartbeating(
    () => beat,
    async () => {
      const staged: StagedDataset[] = [];
      for (const [index, dataset] of input.datasets.entries()) {
        staged.push(
          await stageDataset(dataset, {
            store,
            dir: path.join(dir, 'data', String(index)),
            signal,
            onProgress: (done, total) => {
              beat.shardsStaged = done;
              beat.shards = total;
            },
          }),
        );
      }
      const samples = staged.reduce((sum, dataset) => sum + dataset.samples, 0);

      const attemptName = `attempt-${attempt}`;
      const logKey = trainKeys.log(prefix, attemptName);
      const logsDir = path.join(dir, 'logs');
      const checkpointDir = path.join(logsDir, attemptName, 'checkpoints');
      // Earlier attempts' folders go: their checkpoints that mattered are in the store, and a resume
      // reads only what the store holds.
      await clearFolder(logsDir);
      const sync = new CheckpointSync(store, checkpointDir, checkpointsPrefix, input.keepCheckpoints, ({ key }) => {
        beat.latestCheckpoint = key;
      });
      if (resumePoint) beat.latestCheckpoint = resumePoint.key;

      let resumeFrom: string | undefined;
      let pretrained: string | undefined;
      if (resumePoint && resumePoint.epoch < epochs) {
        beat.phase = 'staging-weights';
        resumeFrom = path.join(dir, 'resume', checkpointFileName(resumePoint.epoch));
        await downloadFile(store, resumePoint.key, resumeFrom);
      } else if (!resumePoint && input.initialWeights !== undefined) {
        beat.phase = 'staging-weights';
        pretrained = await localWeights(store, input.initialWeights, path.join(dir, 'initial'));
      }

      let steps: number | null = null;
      let lastLoss: number | null = null;
      let lastRate: number | null = null;
      if (!resumePoint || resumePoint.epoch < epochs) {
        beat.phase = 'training';
        const shards = staged.reduce((sum, dataset) => sum + dataset.shardHashes.length, 0);
        requireShardPerProcess(input.stage.name, shards, processesPerNode);
        const hyperparameters = input.stage.hyperparameters;
        try {
          const outcome = await runTrainingAttempt({
            python: deps.training.python,
            args: {
              script: deps.training.trainScript,
              model: input.model,
              trainData: staged.map((dataset) => dataset.localPattern).join('::'),
              samples,
              hyperparameters: {
                ...hyperparameters,
                workers: dataloaderWorkers(hyperparameters.workers, shards, processesPerNode),
              },
              processesPerNode,
              logsDir,
              name: attemptName,
              forceQuickGelu: input.forceQuickGelu,
              logEveryNSteps: 10,
              ...(pretrained !== undefined ? { pretrained } : {}),
              ...(resumeFrom !== undefined ? { resumeFrom } : {}),
            },
            sync,
            signal,
            checkpointPollMs,
            onProgress: (progress) => Object.assign(beat, progress),
            onCpuFallback: () => (beat.device = 'cpu'),
          });
          steps = outcome.steps;
          lastLoss = outcome.last?.loss ?? null;
          lastRate = outcome.last?.samplesPerSecond ?? null;
        } catch (error) {
          await uploadLog(store, path.join(logsDir, attemptName), logKey);
          // Cancelled: report it as Temporal's cancellation, not as a failure of the trainer.
          if (signal.aborted) throw signal.reason;
          throw error;
        }
        beat.phase = 'uploading';
      }

      const final = await newestStoredCheckpoint(store, checkpointsPrefix);
      if (!final || final.epoch < epochs) {
        throw new PathgenError(
          'TrainerFailed',
          `the trainer exited cleanly but ${checkpointFileName(epochs)} is not there (newest: ${final ? checkpointFileName(final.epoch) : 'none'}); see ${logKey}`,
          { stage: input.stage.name, epochs, newest: final?.epoch ?? null },
        );
      }
      await uploadLog(store, path.join(logsDir, attemptName), logKey);
      const paramsFile = path.join(logsDir, attemptName, 'params.txt');
      const paramsKey = (await stat(paramsFile).catch(() => undefined)) ? trainKeys.params(prefix) : null;
      if (paramsKey) await uploadFile(store, paramsFile, paramsKey);

      const result: TrainStageResult = {
        stage: input.stage.name,
        checkpointKey: final.key,
        epochs,
        resumedFromEpoch,
        attempt,
        processesPerNode,
        steps,
        finalLoss: lastLoss,
        samplesPerSecond: lastRate,
        device: beat.device ?? 'default',
        datasets: staged.map(({ localPattern: _local, ...dataset }) => dataset),
        initialWeights: input.initialWeights ?? null,
        logKey,
        paramsKey,
      };
      await store.put(resultKey, Buffer.from(`${JSON.stringify(result, null, 2)}\n`), {
        contentType: 'application/json',
      });
      return result;
    },
  );
}

/** open_clip writes out.log in the run folder; keep it in the store for whoever reads a failure later. */
async function uploadLog(store: ObjectStore, runDir: string, key: string): Promise<void> {
  const file = path.join(runDir, 'out.log');
  if (await stat(file).catch(() => undefined)) await uploadFile(store, file, key);
}

/**
 * Initial weights as open_clip's --pretrained takes them: a file on this machine, a copy of a store
 * object, or (neither) the value itself, an open_clip pretrained tag.
 */
async function localWeights(store: ObjectStore, reference: string, dir: string): Promise<string> {
  const local = reference.startsWith('file://') ? reference.slice('file://'.length) : reference;
  if (path.isAbsolute(local)) {
    if (!(await stat(local).catch(() => undefined))?.isFile()) {
      throw new PathgenError('InvalidTrainInput', `initial weights ${local} do not exist on this machine`, {
        pretrained: reference,
      });
    }
    return local;
  }
  const key = reference.startsWith('s3://') ? reference.replace(/^s3:\/\/[^/]+\//, '') : reference;
  if (await store.exists(key)) {
    const file = path.join(dir, path.posix.basename(key));
    await mkdir(dir, { recursive: true });
    await downloadFile(store, key, file);
    return file;
  }
  // open_clip's pretrained tags ("openai", "laion2b_s34b_b88k") are single words; anything shaped like
  // a path or a file that is in neither place is a mistake, not a tag to try to download.
  if (/[/.]/.test(reference)) {
    throw new PathgenError(
      'InvalidTrainInput',
      `initial weights ${reference} are neither a file on this machine nor an object in ${store.description}`,
      { pretrained: reference },
    );
  }
  return reference;
}
