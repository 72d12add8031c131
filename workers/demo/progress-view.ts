import type { RunProgress } from '../../workflows/run-progress.js';
import { slideStages } from '../../workflows/slide-plan.js';

// What `pathgen demo` prints while a run goes: a block of per-stage bars redrawn in place on a
// terminal, or a compact line at most every few seconds when the output is a file or a CI log.
// It only formats the run's progress query; it asks nothing of Temporal itself.

/** The part of the run's `progress` query the view reads (tests pass no more than this). */
export type ProgressShown = Pick<
  RunProgress,
  'total' | 'completed' | 'failed' | 'running' | 'stages' | 'captions' | 'failuresByReason' | 'etaSeconds' | 'paused'
> &
  // Absent from runs started before slides reported their patches.
  Partial<Pick<RunProgress, 'patches'>>;

/** The patch bars, selected → summarized: patches each agent stage has finished, out of those selected. */
const patchBars = ['described', 'revised', 'summarized'] as const;

/**
 * The stages in pipeline order; a stage the progress names that is not here is shown after them.
 * `record` only files the slide's summary and never gets a bar; the export runs once for the run.
 */
export const pipelineStages: readonly string[] = [...slideStages.filter((stage) => stage !== 'record'), 'export'];

export interface ProgressViewOptions {
  stream: { write(text: string): unknown; columns?: number; isTTY?: boolean };
  /** Redraw in place (default: the stream's own isTTY). */
  isTTY?: boolean;
  /** Least time between two lines when not a terminal (default 5 s). */
  lineIntervalMs?: number;
  /** The clock (tests pass their own). */
  now?: () => number;
}

export interface ProgressView {
  update(progress: ProgressShown): void;
  /** Draws the last state (or `progress`) once more and stops drawing. */
  finish(progress?: ProgressShown): void;
}

const barWidth = 24;

export function createProgressView(options: ProgressViewOptions): ProgressView {
  const { stream } = options;
  const tty = options.isTTY ?? stream.isTTY === true;
  const interval = options.lineIntervalMs ?? 5000;
  const now = options.now ?? Date.now;
  let drawnLines = 0;
  let lastLine: string | undefined;
  let lastLineAt = -Infinity;
  let latest: ProgressShown | undefined;
  let finished = false;

  const draw = (progress: ProgressShown): void => {
    const width = stream.columns && stream.columns > 20 ? stream.columns - 1 : Infinity;
    const lines = progressLines(progress).map((line) => clip(line, width));
    const up = drawnLines > 0 ? `\x1b[${drawnLines}A` : '';
    stream.write(up + lines.map((line) => `\r\x1b[2K${line}\n`).join(''));
    drawnLines = lines.length;
  };
  const writeLine = (progress: ProgressShown, force: boolean): void => {
    const line = progressLine(progress);
    if (line === lastLine) return;
    if (!force && now() - lastLineAt < interval) return;
    stream.write(`${line}\n`);
    lastLine = line;
    lastLineAt = now();
  };

  return {
    update(progress) {
      if (finished) return;
      latest = progress;
      if (tty) draw(progress);
      else writeLine(progress, false);
    },
    finish(progress) {
      if (finished) return;
      finished = true;
      const last = progress ?? latest;
      if (last === undefined) return;
      if (tty) draw(last);
      else writeLine(last, true);
    },
  };
}

function orderedStages(progress: ProgressShown): string[] {
  return [...pipelineStages, ...Object.keys(progress.stages).filter((stage) => !pipelineStages.includes(stage))];
}

function bar(done: number, total: number): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.floor(fraction * barWidth);
  return `[${'█'.repeat(full)}${'░'.repeat(barWidth - full)}]`;
}

function percent(done: number, total: number): string {
  return total > 0 ? `${Math.floor((100 * Math.min(done, total)) / total)}%`.padStart(4) : '    ';
}

/** The block a terminal shows: slides, one bar per stage, captions and failures. */
export function progressLines(progress: ProgressShown): string[] {
  const finishedSlides = progress.completed + progress.failed;
  const status = progress.paused ? '  PAUSED (new slides wait for resume)' : '';
  const eta = progress.etaSeconds !== undefined ? `  ETA ${formatDuration(progress.etaSeconds)}` : '';
  const stages = orderedStages(progress);
  const patches = shownPatches(progress);
  const labels = [...stages, ...(patches ? patchBars : [])];
  const labelWidth = 2 + Math.max(...labels.map((label) => label.length)) + 2;
  const lines = [
    `${'slides'.padEnd(labelWidth)}${bar(finishedSlides, progress.total)} ${percent(finishedSlides, progress.total)}  ${progress.completed} done, ${progress.failed} failed, ${progress.running} running of ${progress.total}${eta}${status}`,
  ];
  for (const stage of stages) {
    const counts = progress.stages[stage];
    const label = `  ${stage}`.padEnd(labelWidth);
    lines.push(
      counts && counts.total > 0
        ? `${label}${bar(counts.done, counts.total)} ${percent(counts.done, counts.total)}  ${counts.done}/${counts.total}`
        : `${label}${bar(0, 0)}       waiting`,
    );
  }
  if (patches) {
    const inFlight = patches.batchesInFlight > 0 ? `, ${patches.batchesInFlight} agent batches running` : '';
    lines.push(`patches    ${patches.selected} selected of ${patches.candidates} candidates${inFlight}`);
    for (const label of patchBars) {
      const { succeeded, failed } = patches[label];
      const done = succeeded + failed;
      const failures = failed > 0 ? ` (${failed} failed)` : '';
      lines.push(
        `${`  ${label}`.padEnd(labelWidth)}${bar(done, patches.selected)} ${percent(done, patches.selected)}  ${done}/${patches.selected}${failures}`,
      );
    }
  }
  lines.push(`captions   ${progress.captions}    failures   ${formatFailures(progress.failuresByReason)}`);
  return lines;
}

/** One line for logs: every count, no bars. */
export function progressLine(progress: ProgressShown): string {
  const stages = orderedStages(progress)
    .map((stage) => {
      const counts = progress.stages[stage];
      return `${stage} ${counts ? `${counts.done}/${counts.total}` : '-'}`;
    })
    .join(', ');
  const parts = [
    `slides ${progress.completed} done, ${progress.failed} failed, ${progress.running} running of ${progress.total}`,
    stages,
  ];
  const patches = shownPatches(progress);
  if (patches) {
    const done = (key: (typeof patchBars)[number]) => patches[key].succeeded + patches[key].failed;
    parts.push(
      `patches ${patches.selected} selected, ${done('described')} described, ${done('revised')} revised, ${done('summarized')} summarized`,
    );
  }
  parts.push(`captions ${progress.captions}`);
  if (Object.keys(progress.failuresByReason).length > 0)
    parts.push(`failures ${formatFailures(progress.failuresByReason)}`);
  if (progress.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(progress.etaSeconds)}`);
  if (progress.paused) parts.push('PAUSED');
  return `pathgen: ${parts.join(' | ')}`;
}

/** The run's patch counts once a slide has been tiled; none before (nothing to show yet). */
function shownPatches(progress: ProgressShown): RunProgress['patches'] | undefined {
  return progress.patches && progress.patches.candidates > 0 ? progress.patches : undefined;
}

function formatFailures(byReason: Record<string, number>): string {
  const entries = Object.entries(byReason).filter(([, count]) => count > 0);
  if (entries.length === 0) return 'none';
  return entries
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
}

/** 42s, 3m 05s, 1h 02m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function clip(line: string, width: number): string {
  return [...line].length > width ? `${[...line].slice(0, width - 1).join('')}…` : line;
}

export interface DemoSummary {
  slides: { total: number; completed: number; failed: number };
  /** Patches selected for captioning. */
  patches: number;
  captions: number;
  /** Failures by reason (slides and patches). */
  failures: Record<string, number>;
  seconds: number;
  datasetDir: string;
  uiUrl: string;
  /** The run id, to link the UI to the run's workflows. */
  runId?: string;
}

/** The few lines printed when the demo ends. */
export function formatDemoSummary(summary: DemoSummary): string {
  const { slides } = summary;
  const ui = summary.runId
    ? `${summary.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`PathgenRunId="${summary.runId}"`)}`
    : summary.uiUrl;
  return [
    `pathgen demo ${slides.failed > 0 ? 'finished with failures' : 'finished'} in ${formatDuration(summary.seconds)}`,
    `  slides       ${slides.total} (${slides.completed} completed, ${slides.failed} failed)`,
    `  patches      ${summary.patches} selected, ${summary.captions} captioned`,
    `  failures     ${formatFailures(summary.failures)}`,
    `  dataset      ${summary.datasetDir}`,
    `  Temporal UI  ${ui}`,
  ].join('\n');
}
