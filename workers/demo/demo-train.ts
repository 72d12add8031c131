import type { Client } from '@temporalio/client';
import path from 'node:path';
import { workflowIds } from '../../activities/contracts/keys.js';
import type { ZeroShotResult } from '../../activities/eval/eval-types.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import type { pathgenEval } from '../../workflows/eval.js';
import type { pathgenTrain } from '../../workflows/train.js';
import { demoTissueKinds, demoTissueKindInfo } from '../synthetic/slides/tissue-kinds.js';
import { writeHeldOutPatches } from './demo-cohort.js';

// `pathgen demo --train`: PathGen's loop closed on the demo's own data. A tiny CLIP (infra/train/
// model-configs/pathgen-tiny.json) is trained from scratch with open_clip on the demo's export,
// exported to ONNX, and zero-shot-evaluated on held-out synthetic patches of each tissue kind with
// prompts naming the kinds. Accuracy clearly above chance means the captions carried the signal
// from the pixels, through the agents and the export, into a model.

/**
 * Each kind is prompted with how the describe agent words its morphology (`captionPrompt`), not with
 * a diagnosis in PathGen's "An H&E image of {class}" template: that leans on a text encoder
 * pretrained on web-scale text. A CLIP trained from scratch on a hundred captions knows only its
 * captions' sentences; short names whose words occur in two kinds' captions ("cellular",
 * "carcinoma") scored 33–100 % from one training run to the next, these sentences 98–100 %.
 */
export const demoTemplates = ['{class}'];

export interface DemoTrainOptions {
  client: Client;
  store: ObjectStore;
  taskQueue: string;
  runId: string;
  dir: string;
  seed: number;
  epochs: number;
  say: (line: string) => void;
}

export interface DemoTrainOutcome {
  modelRef: string;
  accuracy: number;
  chance: number;
  perClass: { className: string; accuracy: number }[];
  reportKey: string;
}

export async function trainAndEvaluateDemo(options: DemoTrainOptions): Promise<DemoTrainOutcome> {
  const { client, say } = options;
  // The epochs are part of the id: a finished training is reused only for the same settings.
  const trainId = `${options.runId}-tiny-clip-e${options.epochs}`;
  say(
    `· training a tiny CLIP on the export of ${options.runId} (${options.epochs} epochs, open_clip on this machine's CPU/GPU)`,
  );
  const trained = await client.workflow.execute<typeof pathgenTrain>('pathgenTrain', {
    taskQueue: options.taskQueue,
    // A new execution each time; a finished stage and model are found in the store and reused.
    workflowId: `${workflowIds.train(trainId)}-${Date.now()}`,
    args: [
      {
        trainId,
        model: 'pathgen-tiny',
        stages: [
          {
            name: 'demo',
            datasets: [{ exportRun: options.runId }],
            hyperparameters: {
              batchSize: 32,
              epochs: options.epochs,
              lr: 2e-3,
              warmup: 10,
              weightDecay: 0.1,
              precision: 'fp32',
              workers: 1,
              seed: options.seed,
            },
          },
        ],
        keepCheckpoints: 1,
      },
    ],
  });
  const stage = trained.stages[0]!;
  say(
    `· trained: loss ${stage.finalLoss?.toFixed(3) ?? '?'} after ${stage.epochs} epochs; model ${trained.model.modelRef}`,
  );

  const heldOut = await writeHeldOutPatches(path.join(options.dir, 'held-out'), {
    seed: options.seed + 1000,
    perKind: 20,
  });
  // A folder dataset's classes are its folder names in sorted order; the prompt names follow that order.
  const kinds = [...demoTissueKinds].sort();
  const prompts = kinds.map((kind) => demoTissueKindInfo[kind].captionPrompt);
  const evalId = `${trainId}-zero-shot`;
  const evaluated = await client.workflow.execute<typeof pathgenEval>('pathgenEval', {
    taskQueue: options.taskQueue,
    workflowId: `${workflowIds.eval(evalId)}-${Date.now()}`,
    args: [
      {
        evalId,
        model: trained.model.modelRef,
        zeroShot: [{ dataset: { folder: heldOut.dir, classes: prompts, templates: demoTemplates } }],
      },
    ],
  });
  const report = JSON.parse((await options.store.get(evaluated.report.json)).toString('utf8')) as {
    tasks: ZeroShotResult[];
  };
  const zeroShot = report.tasks[0]!;
  return {
    modelRef: trained.model.modelRef,
    accuracy: zeroShot.metrics.accuracy,
    chance: 1 / kinds.length,
    perClass: kinds.map((kind, c) => ({
      className: kind,
      accuracy: zeroShot.metrics.perClassAccuracy[c] ?? 0,
    })),
    reportKey: evaluated.report.markdown,
  };
}

export function formatDemoTrainSummary(outcome: DemoTrainOutcome): string {
  const lines = [
    `Closed loop: zero-shot accuracy ${(outcome.accuracy * 100).toFixed(1)} % on held-out synthetic patches ` +
      `(chance ${(outcome.chance * 100).toFixed(1)} %)`,
    ...outcome.perClass.map((entry) => `  ${entry.className}: ${(entry.accuracy * 100).toFixed(1)} %`),
    `  model: ${outcome.modelRef}; report: ${outcome.reportKey}`,
  ];
  return lines.join('\n');
}
