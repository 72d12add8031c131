import { proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type {
  EvalActivities,
  EvalInput,
  EvalReport,
  EvalTaskResult,
  TaskOutcome,
  WrittenReport,
} from '../activities/stages/eval.js';
import { evalTaskActivityOptions, runBookkeepingOptions } from './activity-options.js';
import { PathgenStage, PathgenStatus } from './search-attributes.js';
import { withStatusAttributes } from './workflow-status.js';

// Evaluate a CLIP model directory the way PathGen does: zero-shot on patch datasets, few-shot
// linear probes on frozen features, ABMIL on slide-level splits. Tasks run one after another on
// the GPU queue (one model in memory at a time); the report (JSON, Markdown with plots, HTML)
// goes to the store, and the workflow's result is its summary.
//
//   temporal workflow start --task-queue pathgen --type pathgenEval --workflow-id pathgen-eval-<id> \
//     --input '{"evalId": "...", "model": "models/<id>", "zeroShot": [{"dataset": {"definition": "crc-100k", "folder": "/data/CRC-VAL-HE-7K"}}]}'

export interface EvalSummaryLine {
  kind: EvalTaskResult['kind'];
  name: string;
  /** Headline metric: top-1 accuracy (zero-shot), mean accuracy at the most shots (probe), AUROC (slides). */
  metric: 'accuracy' | 'auroc';
  value: number;
}

export interface EvalResult {
  evalId: string;
  model: EvalReport['model'];
  summary: EvalSummaryLine[];
  report: WrittenReport;
  features: EvalReport['features'];
}

export async function pathgenEval(input: EvalInput): Promise<EvalResult> {
  return withStatusAttributes(input.evalId, () => evaluate(input));
}

async function evaluate(input: EvalInput): Promise<EvalResult> {
  const bookkeeping = proxyActivities<EvalActivities>(runBookkeepingOptions(workflowInfo().taskQueue));
  const startedAt = new Date().toISOString();
  const plan = await bookkeeping.prepareEval(input);
  const { input: spec } = plan;
  const tasks = proxyActivities<EvalActivities>(evalTaskActivityOptions(plan.taskQueues.gpu));
  const { checkEvalData } = proxyActivities<EvalActivities>(runBookkeepingOptions(plan.taskQueues.gpu));
  await checkEvalData(spec);
  const outcomes: TaskOutcome<EvalTaskResult>[] = [];
  const total = spec.zeroShot.length + spec.linearProbe.length + spec.slideTasks.length;
  const step = (kind: string) => {
    upsertSearchAttributes([{ key: PathgenStage, value: `eval:${kind}` }]);
    setCurrentDetails(`task ${outcomes.length + 1} of ${total}: ${kind}`);
  };
  for (const task of spec.zeroShot) {
    step('zero-shot');
    outcomes.push(await tasks.zeroShotTask({ model: spec.model, task, logitScale: spec.logitScale }));
  }
  for (const task of spec.linearProbe) {
    step('linear-probe');
    outcomes.push(await tasks.linearProbeTask({ model: spec.model, task, logitScale: spec.logitScale }));
  }
  for (const task of spec.slideTasks) {
    step('slide');
    outcomes.push(await tasks.slideTask({ model: spec.model, task, logitScale: spec.logitScale }));
  }

  const report: EvalReport = {
    evalId: spec.evalId,
    model: outcomes[0]!.model,
    startedAt,
    finishedAt: new Date().toISOString(),
    tasks: outcomes.map((outcome) => outcome.result),
    features: {
      embedded: outcomes.reduce((sum, outcome) => sum + outcome.features.embedded, 0),
      cached: outcomes.reduce((sum, outcome) => sum + outcome.features.cached, 0),
    },
  };
  upsertSearchAttributes([{ key: PathgenStage, value: 'report' }]);
  const written = await bookkeeping.writeEvalReport({ report, prefix: plan.reportPrefix });
  upsertSearchAttributes([
    { key: PathgenStage, value: 'done' },
    { key: PathgenStatus, value: 'completed' },
  ]);
  setCurrentDetails(`report: ${written.markdown}`);
  return {
    evalId: spec.evalId,
    model: report.model,
    summary: report.tasks.map(summaryLine),
    report: written,
    features: report.features,
  };
}

function summaryLine(task: EvalTaskResult): EvalSummaryLine {
  switch (task.kind) {
    case 'zero-shot':
      return { kind: task.kind, name: task.dataset, metric: 'accuracy', value: task.metrics.accuracy };
    case 'linear-probe': {
      const last = task.results[task.results.length - 1]!;
      return { kind: task.kind, name: task.dataset, metric: 'accuracy', value: last.accuracy.mean };
    }
    case 'slide':
      return { kind: task.kind, name: task.task, metric: 'auroc', value: task.auroc };
  }
}
