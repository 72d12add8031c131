import { proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ExportModelResult, TrainActivities, TrainInput, TrainStageResult } from '../activities/stages/train.js';
import { modelExportActivityOptions, runBookkeepingOptions, trainStageActivityOptions } from './activity-options.js';
import { PathgenStage, PathgenStatus } from './search-attributes.js';
import { withStatusAttributes } from './workflow-status.js';

// Train a CLIP with open_clip, in stages (PathGen: stage 1 on PathGen-style pairs, stage 2 on
// earlier public pairs from stage 1's checkpoint), then export it to the model directory the select
// stage and pathgenEval load. Each stage is one long activity on the GPU queue that resumes from
// its newest stored checkpoint when it is retried, so a lost machine costs at most an epoch.
//
//   temporal workflow start --task-queue pathgen --type pathgenTrain --workflow-id pathgen-train-<id> \
//     --input '{"trainId": "...", "model": "ViT-B-16", "stages": [{"name": "stage1", "datasets": [{"exportRun": "..."}]}]}'

export interface TrainResult {
  trainId: string;
  stages: TrainStageResult[];
  model: ExportModelResult;
  lineageKey: string;
}

export async function pathgenTrain(input: TrainInput): Promise<TrainResult> {
  return withStatusAttributes(input.trainId, () => train(input));
}

async function train(input: TrainInput): Promise<TrainResult> {
  const { prepareTraining } = proxyActivities<TrainActivities>(runBookkeepingOptions(workflowInfo().taskQueue));
  const plan = await prepareTraining(input);
  const spec = plan.input;
  const gpu = plan.taskQueues.gpu;
  const { trainStage } = proxyActivities<TrainActivities>(trainStageActivityOptions(gpu, spec.heartbeatTimeout));
  const { exportTrainedModel } = proxyActivities<TrainActivities>(modelExportActivityOptions(gpu));

  const stages: TrainStageResult[] = [];
  let weights = spec.pretrained;
  for (const [index, stage] of spec.stages.entries()) {
    upsertSearchAttributes([{ key: PathgenStage, value: `train:${stage.name}` }]);
    setCurrentDetails(
      `training stage ${index + 1}/${spec.stages.length} (${stage.name}): ${stage.hyperparameters.epochs} epochs of ${spec.model}` +
        (weights !== undefined ? ` from ${weights}` : ' from random weights') +
        '. Epoch, step, loss and samples/s are in the activity heartbeat.',
    );
    const result = await trainStage({
      trainId: spec.trainId,
      model: spec.model,
      forceQuickGelu: spec.forceQuickGelu,
      keepCheckpoints: spec.keepCheckpoints,
      processesPerNode: spec.processesPerNode,
      stage,
      datasets: plan.datasets[index] ?? [],
      ...(weights !== undefined ? { initialWeights: weights } : {}),
    });
    stages.push(result);
    weights = result.checkpointKey;
  }

  upsertSearchAttributes([{ key: PathgenStage, value: 'export' }]);
  setCurrentDetails('exporting the last checkpoint to ONNX and registering the model');
  const modelId = spec.export.modelId ?? spec.trainId;
  const last = stages[stages.length - 1]!;
  const model = await exportTrainedModel({
    trainId: spec.trainId,
    modelId,
    model: spec.model,
    forceQuickGelu: spec.forceQuickGelu,
    checkpointKey: last.checkpointKey,
    name: spec.export.name ?? modelId,
    version: spec.export.version ?? spec.trainId,
    lineage: {
      format: 'pathgen-model-lineage/1',
      modelId,
      trainId: spec.trainId,
      workflowId: workflowInfo().workflowId,
      createdAt: new Date().toISOString(),
      openClipModel: spec.model,
      forceQuickGelu: spec.forceQuickGelu,
      pretrained: spec.pretrained ?? null,
      processesPerNode: spec.processesPerNode,
      stages: stages.map((result, index) => ({
        name: result.stage,
        hyperparameters: spec.stages[index]!.hyperparameters,
        parentCheckpoint: result.initialWeights,
        checkpoint: result.checkpointKey,
        epochs: result.epochs,
        finalLoss: result.finalLoss,
        datasets: result.datasets,
        log: result.logKey,
        params: result.paramsKey,
      })),
    },
  });
  upsertSearchAttributes([
    { key: PathgenStage, value: 'done' },
    { key: PathgenStatus, value: 'completed' },
  ]);
  setCurrentDetails(`model ${model.modelId} registered at ${model.modelRef}`);
  return { trainId: spec.trainId, stages, model, lineageKey: `${model.modelRef}/lineage.json` };
}
