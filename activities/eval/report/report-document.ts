import type {
  ClassificationMetrics,
  EvalReport,
  LinearProbeResult,
  SlideTaskResult,
  ZeroShotResult,
} from '../eval-types.js';
import {
  formatCount,
  formatDuration,
  formatMeanStd,
  formatPercent,
  formatShots,
  formatWeightDecay,
  slug,
} from './report-format.js';
import { barChartSvg, confusionMatrixSvg, rocCurvesSvg } from './svg-plots.js';

// The report's content as a list of plain blocks, built once and rendered twice (Markdown and
// HTML), so both formats always say the same thing. Text in blocks is unescaped; each renderer
// escapes for its own format.

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'facts'; items: [label: string, value: string][] }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][]; numeric: boolean[] }
  | { kind: 'figure'; file: string; svg: string; caption: string };

export interface ReportDocument {
  title: string;
  blocks: Block[];
}

export function reportDocument(report: EvalReport): ReportDocument {
  const title = `Evaluation report: ${report.model.name}`;
  const files = new FileNames();
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: title },
    {
      kind: 'facts',
      items: [
        ['Evaluation', report.evalId],
        ['Model', `${report.model.name} ${report.model.version} (${report.model.id})`],
        ['Started', report.startedAt],
        ['Finished', report.finishedAt],
        ['Duration', formatDuration(report.startedAt, report.finishedAt)],
        ['Image features', `${report.features.embedded} embedded, ${report.features.cached} from the cache`],
      ],
    },
    { kind: 'heading', level: 2, text: 'Summary' },
    summaryTable(report),
  ];
  for (const task of report.tasks) {
    if (task.kind === 'zero-shot') blocks.push(...zeroShotBlocks(task, files));
    else if (task.kind === 'linear-probe') blocks.push(...linearProbeBlocks(task));
    else blocks.push(...slideBlocks(task, files));
  }
  if (report.tasks.length === 0) blocks.push({ kind: 'paragraph', text: 'No tasks were evaluated.' });
  return { title, blocks };
}

function table(header: string[], rows: string[][], numeric: boolean[]): Block {
  return { kind: 'table', header, rows, numeric };
}

/** Zero-shot rows first with PathGen's headline number (their mean accuracy), then probes, then slides. */
function summaryTable(report: EvalReport): Block {
  const zeroShot: string[][] = [];
  const probes: string[][] = [];
  const slides: string[][] = [];
  const accuracies: number[] = [];
  for (const task of report.tasks) {
    if (task.kind === 'zero-shot') {
      accuracies.push(task.metrics.accuracy);
      zeroShot.push(
        ['zero-shot', task.dataset, 'accuracy', formatPercent(task.metrics.accuracy)],
        ['zero-shot', task.dataset, 'balanced accuracy', formatPercent(task.metrics.balancedAccuracy)],
        ['zero-shot', task.dataset, 'weighted F1', formatPercent(task.metrics.weightedF1)],
      );
    } else if (task.kind === 'linear-probe') {
      for (const result of task.results) {
        probes.push([
          'linear probe',
          task.dataset,
          `accuracy (${formatShots(result.shots)})`,
          formatMeanStd(result.accuracy),
        ]);
      }
    } else {
      slides.push(
        ['slide', task.task, 'AUROC', formatPercent(task.auroc)],
        ['slide', task.task, 'accuracy', formatPercent(task.accuracy)],
        ['slide', task.task, 'macro F1', formatPercent(task.macroF1)],
      );
    }
  }
  if (accuracies.length > 1) {
    const mean = accuracies.reduce((sum, value) => sum + value, 0) / accuracies.length;
    zeroShot.push(['zero-shot', `mean of ${accuracies.length} datasets`, 'accuracy', formatPercent(mean)]);
  }
  return table(
    ['Task', 'Dataset', 'Metric', 'Value'],
    [...zeroShot, ...probes, ...slides],
    [false, false, false, true],
  );
}

function metricsTable(metrics: ClassificationMetrics, extra: [string, string][] = []): Block {
  return table(
    ['Metric', 'Value'],
    [
      ...extra,
      ['accuracy', formatPercent(metrics.accuracy)],
      ['balanced accuracy', formatPercent(metrics.balancedAccuracy)],
      ['weighted F1', formatPercent(metrics.weightedF1)],
      ['macro F1', formatPercent(metrics.macroF1)],
      ['samples', formatCount(metrics.count)],
    ],
    [false, true],
  );
}

function confusionTable(classes: readonly string[], metrics: ClassificationMetrics): Block {
  return table(
    ['True \\ predicted', ...classes],
    classes.map((name, row) => [
      name,
      ...classes.map((_, column) => formatCount(metrics.confusion[row]?.[column] ?? 0)),
    ]),
    [false, ...classes.map(() => true)],
  );
}

function zeroShotBlocks(task: ZeroShotResult, files: FileNames): Block[] {
  const base = `zero-shot-${slug(task.dataset)}`;
  const confusionFile = files.claim(`${base}-confusion`);
  const perClassFile = files.claim(`${base}-per-class`);
  return [
    { kind: 'heading', level: 2, text: `Zero-shot: ${task.dataset}` },
    {
      kind: 'facts',
      items: [
        ['Classes', String(task.classes.length)],
        ['Prompts', task.ensemble ? `mean over ${task.templates.length} templates` : 'first template only'],
        ['Logit scale', String(task.logitScale)],
      ],
    },
    { kind: 'paragraph', text: task.ensemble ? 'Templates:' : 'Template:' },
    { kind: 'list', items: task.ensemble ? task.templates : task.templates.slice(0, 1) },
    metricsTable(task.metrics),
    { kind: 'heading', level: 3, text: 'Confusion matrix' },
    confusionTable(task.classes, task.metrics),
    {
      kind: 'figure',
      file: confusionFile,
      svg: confusionMatrixSvg(task.classes, task.metrics.confusion),
      caption: `Confusion matrix, zero-shot ${task.dataset}`,
    },
    { kind: 'heading', level: 3, text: 'Per-class accuracy' },
    table(
      ['Class', 'Support', 'Accuracy'],
      task.classes.map((name, index) => [
        name,
        formatCount(task.metrics.support[index] ?? 0),
        formatPercent(task.metrics.perClassAccuracy[index] ?? Number.NaN),
      ]),
      [false, true, true],
    ),
    {
      kind: 'figure',
      file: perClassFile,
      svg: barChartSvg(task.classes, task.metrics.perClassAccuracy, {
        title: `Per-class accuracy, zero-shot ${task.dataset}`,
        max: 1,
      }),
      caption: `Per-class accuracy, zero-shot ${task.dataset}`,
    },
  ];
}

function linearProbeBlocks(task: LinearProbeResult): Block[] {
  return [
    { kind: 'heading', level: 2, text: `Linear probe: ${task.dataset}` },
    { kind: 'facts', items: [['Classes', String(task.classes.length)]] },
    table(
      ['Shots', 'Accuracy', 'Balanced accuracy', 'Weighted F1', 'Seeds', 'Weight decay'],
      task.results.map((result) => [
        formatShots(result.shots),
        formatMeanStd(result.accuracy),
        formatMeanStd(result.balancedAccuracy),
        formatMeanStd(result.weightedF1),
        String(result.seeds.length),
        result.weightDecay.map(formatWeightDecay).join(', '),
      ]),
      [false, true, true, true, true, false],
    ),
  ];
}

function slideBlocks(task: SlideTaskResult, files: FileNames): Block[] {
  const base = `slide-${slug(task.task)}`;
  const blocks: Block[] = [
    { kind: 'heading', level: 2, text: `Slide task: ${task.task}` },
    {
      kind: 'facts',
      items: [
        ['Classes', task.classes.join(', ')],
        ['Slides', `${task.slides.train} train, ${task.slides.validation} validation, ${task.slides.test} test`],
        ['Skipped slides', String(task.slides.skipped.length)],
      ],
    },
    metricsTable(task.metrics, [['AUROC (macro)', formatPercent(task.auroc)]]),
    {
      kind: 'figure',
      file: files.claim(`${base}-roc`),
      svg: rocCurvesSvg(task.roc),
      caption: `ROC curves, ${task.task}`,
    },
    { kind: 'heading', level: 3, text: 'Confusion matrix' },
    confusionTable(task.classes, task.metrics),
    {
      kind: 'figure',
      file: files.claim(`${base}-confusion`),
      svg: confusionMatrixSvg(task.classes, task.metrics.confusion),
      caption: `Confusion matrix, ${task.task}`,
    },
  ];
  if (task.slides.skipped.length > 0) {
    blocks.push(
      { kind: 'heading', level: 3, text: 'Skipped slides' },
      table(
        ['Slide', 'Reason'],
        task.slides.skipped.map((skipped) => [skipped.slide, skipped.reason]),
        [false, false],
      ),
    );
  }
  return blocks;
}

/** Figure file names, unique within one report even when two tasks share a dataset name. */
class FileNames {
  private readonly taken = new Set<string>();

  claim(base: string): string {
    let name = `${base}.svg`;
    for (let suffix = 2; this.taken.has(name); suffix++) name = `${base}-${suffix}.svg`;
    this.taken.add(name);
    return name;
  }
}
