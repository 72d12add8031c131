import type { Command } from 'commander';
import { isPathgenError } from '../../activities/common/errors.js';
import { runReviewStats } from '../../activities/review/index.js';
import type { ReviewAction, ReviewRequest, RunReviewStats, SlideReviewStats } from '../../activities/review/index.js';
import { openConfiguredStore } from '../configured-store.js';
import { installRuntime } from '../install-runtime.js';
import { applyReviews } from '../review-apply.js';
import { createReviewRecorder } from '../review-recorder.js';
import { reviewerName } from '../reviewer.js';
import { configFrom, printJson } from './command-context.js';
import { ExitError, exitCodes } from './exit-status.js';
import { addReviewServeCommand } from './review-serve.js';

// `pathgen review …`: human review of a run's samples from the command line. Each action is an
// append-only record in the store (activities/review/); `apply` re-exports the run honouring them;
// `stats` says where the review stands. `serve`, the group's default (a bare
// `pathgen review`), is the review web app.

interface SampleFlags {
  run: string;
  key: string;
  reason?: string;
  caption?: string;
}

export function addReviewCommand(program: Command): void {
  const review = program
    .command('review')
    .description(
      "Human review of a run's samples: the web app (`pathgen review [serve]`), or accept, flag or edit from here, see the counts, re-export.",
    );
  addReviewServeCommand(review);
  review
    .command('accept')
    .description('Record that a sample is fine as generated.')
    .requiredOption('--run <runId>', 'the run')
    .requiredOption('--key <key>', "the sample's export key (<slide>_<x>_<y>)")
    .action((flags: SampleFlags, command: Command) => recordAction(command, 'accept', flags));
  review
    .command('flag')
    .description('Record that a sample should be left out of the export, and why.')
    .requiredOption('--run <runId>', 'the run')
    .requiredOption('--key <key>', "the sample's export key (<slide>_<x>_<y>)")
    .requiredOption('--reason <text>', 'why it should be left out')
    .action((flags: SampleFlags, command: Command) => recordAction(command, 'flag', flags));
  review
    .command('edit')
    .description("Record a corrected caption (at most 77 CLIP tokens) that replaces the sample's generated one.")
    .requiredOption('--run <runId>', 'the run')
    .requiredOption('--key <key>', "the sample's export key (<slide>_<x>_<y>)")
    .requiredOption('--caption <text>', 'the new caption')
    .action((flags: SampleFlags, command: Command) => recordAction(command, 'edit', flags));
  review
    .command('stats')
    .description('Reviewed, flagged, edited and accepted samples of a run and of each slide.')
    .requiredOption('--run <runId>', 'the run')
    .option('--json', 'print one JSON document instead of lines')
    .action(async (flags: { run: string; json?: boolean }, command: Command) => {
      const config = configFrom(command);
      const stats = await runReviewStats(openConfiguredStore(config.storage), flags.run);
      if (stats.slides.length === 0) {
        throw new ExitError(exitCodes.badInput, `pathgen review stats: run ${flags.run} has no slide records`);
      }
      if (flags.json) printJson(stats, 2);
      else process.stdout.write(formatStats(stats.run, stats.slides));
    });
  review
    .command('apply')
    .description('Re-export the run honouring its reviews (pathgenExport on the cpu queue: a new version).')
    .requiredOption('--run <runId>', 'the run')
    .option('--worker', "host the cpu queue's worker in this process while the export runs")
    .action(async (flags: { run: string; worker?: boolean }, command: Command) => {
      const config = configFrom(command);
      if (flags.worker) installRuntime('WARN');
      const result = await applyReviews({
        config,
        store: openConfiguredStore(config.storage),
        runId: flags.run,
        worker: flags.worker === true,
      });
      const reviews = result.reviews ?? { flagged: 0, edited: 0 };
      process.stdout.write(
        `exported ${flags.run} version ${result.version}: ${result.samples} samples ` +
          `(${reviews.flagged} flagged left out, ${reviews.edited} edited)\n`,
      );
    });
}

async function recordAction(command: Command, action: ReviewAction, flags: SampleFlags): Promise<void> {
  const config = configFrom(command);
  const store = openConfiguredStore(config.storage);
  const request: ReviewRequest = {
    runId: flags.run,
    key: flags.key,
    action,
    reviewer: reviewerName(config),
    ...(action === 'flag' && flags.reason !== undefined ? { reason: flags.reason } : {}),
    ...(action === 'edit' && flags.caption !== undefined ? { caption: flags.caption } : {}),
  };
  const { recordKey, record } = await recorded(action, () => createReviewRecorder(config, store)(request));
  const what =
    action === 'flag'
      ? `flagged ${record.key} (${record.reason ?? ''})`
      : action === 'edit'
        ? `edited the caption of ${record.key}`
        : `accepted ${record.key}`;
  process.stdout.write(`${what} in run ${record.runId} as ${record.reviewer}: ${recordKey}\n`);
}

/** A refused review is one line and its exit code: 2 for what to fix in the flags, 3 for a key or run not there. */
async function recorded<T>(action: ReviewAction, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isPathgenError(error)) throw error;
    if (error.code === 'ReviewInvalid') {
      throw new ExitError(exitCodes.usage, `pathgen review ${action}: ${error.message}`);
    }
    if (error.code === 'SampleNotFound' || error.code === 'RunNotFound') {
      throw new ExitError(exitCodes.badInput, `pathgen review ${action}: ${error.message}`);
    }
    throw error;
  }
}

function formatStats(run: RunReviewStats, slides: readonly SlideReviewStats[]): string {
  const counts = (c: SlideReviewStats | RunReviewStats) =>
    `${c.samples} samples; ${c.reviewed} reviewed (${c.flagged} flagged, ${c.edited} edited, ${c.accepted} accepted)`;
  const lines = [`run ${run.runId}: ${run.slides} slides, ${counts(run)}, ${run.records} review records`];
  for (const slide of slides) lines.push(`  ${slide.slideId}: ${counts(slide)}`);
  return `${lines.join('\n')}\n`;
}
