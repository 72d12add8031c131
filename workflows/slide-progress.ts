import { condition, defineSignal, getExternalWorkflowHandle, patched, workflowInfo } from '@temporalio/workflow';
import type { SlideProgressReport } from './slide-patches.js';

// How a running slide tells its run where its patches are: a `slideProgress` signal to the parent
// run with the slide's whole tally so far. Every report replaces the last, so the slide sends only
// the latest one, one signal at a time: reports made in the same workflow task, or while a signal
// is on its way, go out as one. That keeps the slide's history small (a signal costs two events
// and usually a workflow task) however many batches finish.

/** The signal's payload: the report, and which execution of the slide workflow sent it. */
export interface SlideProgressSignal extends SlideProgressReport {
  /** The slide workflow's run id: a late report from an earlier execution of the slide is not this one's. */
  slideRunId: string;
}

export const slideProgressSignal = defineSignal<[SlideProgressSignal]>('slideProgress');

/**
 * The slide plan's `progressed` hook for a slide that a run started; undefined for a slide started
 * on its own, and for histories recorded before slides reported (the signals are new commands).
 */
export function progressReporter(): ((report: SlideProgressReport) => void) | undefined {
  const { parent, runId } = workflowInfo();
  if (!parent || !patched('live-progress')) return undefined;
  const run = getExternalWorkflowHandle(parent.workflowId, parent.runId);
  let latest: SlideProgressReport | undefined;
  const send = async () => {
    for (;;) {
      // Conditions are looked at once the workflow task's other work is done: what it reported is in.
      await condition(() => latest !== undefined);
      const report = latest!;
      latest = undefined;
      // A run that has ended (or was reset) cannot be told; the slide's own work goes on.
      await run.signal(slideProgressSignal, { ...report, slideRunId: runId }).catch(() => undefined);
    }
  };
  // Ends with the slide: a cancelled slide's wait is cancelled too, and that is no failure.
  void send().catch(() => undefined);
  return (report) => {
    latest = report;
  };
}
