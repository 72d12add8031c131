import { condition, defineQuery, defineUpdate, setHandler } from '@temporalio/workflow';
import { emptyProgress, progressSnapshot, takeSlideReport, type LiveSlides, type RunProgress } from './run-progress.js';
import { rerunOf, type RerunFailedOptions, type RunState } from './run-state.js';
import { slideProgressSignal } from './slide-progress.js';

// What people can ask of and tell a running run (the CLI's `progress`, `pause`, `resume`,
// `concurrency` and `rerun-failed`; the same names from the Temporal CLI and UI).

export const progressQuery = defineQuery<RunProgress>('progress');
export const pauseUpdate = defineUpdate<RunProgress>('pause');
export const resumeUpdate = defineUpdate<RunProgress>('resume');
export const setConcurrencyUpdate = defineUpdate<RunProgress, [number]>('setConcurrency');
export const rerunFailedUpdate = defineUpdate<RunProgress, [RerunFailedOptions?]>('rerunFailed');

/** The run as its handlers see it: no state until the run is prepared, and the slides in flight. */
export interface RunView {
  state(): RunState | undefined;
  running(): number;
  /** The running slides and their latest reports. */
  live(): LiveSlides;
}

/**
 * Installs the handlers (before the run prepares: a query or update that arrives meanwhile must find
 * them) and returns the progress snapshot they answer with.
 */
export function installRunHandlers(runId: string, view: RunView): () => RunProgress {
  const snapshot = (): RunProgress => {
    const current = view.state();
    if (!current) return emptyProgress(runId, 0);
    return progressSnapshot(current.progress, {
      running: view.running(),
      paused: current.paused,
      maxInFlight: current.maxInFlight,
      startedAtMs: current.startedAtMs,
      slides: view.live(),
    });
  };
  /** Updates wait for the run to be prepared, then act on its state. */
  const prepared = async (): Promise<RunState> => {
    await condition(() => view.state() !== undefined);
    return view.state()!;
  };
  setHandler(progressQuery, snapshot);
  // Running slides report their patches (slide-progress.ts); a report of a slide that ended is dropped.
  setHandler(slideProgressSignal, (report) => {
    takeSlideReport(view.live(), report);
  });
  setHandler(pauseUpdate, async () => {
    (await prepared()).paused = true;
    return snapshot();
  });
  setHandler(resumeUpdate, async () => {
    (await prepared()).paused = false;
    return snapshot();
  });
  setHandler(
    setConcurrencyUpdate,
    async (limit) => {
      (await prepared()).maxInFlight = limit;
      return snapshot();
    },
    {
      validator: (limit) => {
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
          throw new Error('concurrency must be an integer from 1 to 10000');
      },
    },
  );
  setHandler(rerunFailedUpdate, async (options) => {
    const ready = await prepared();
    ready.rerun = { ...rerunOf(options), counted: true };
    ready.progress.phase = 'running';
    return snapshot();
  });
  return snapshot;
}
