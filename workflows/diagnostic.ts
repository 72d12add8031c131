import { proxyActivities } from '@temporalio/workflow';
import type { DiagnosticActivities, DiagnosticPingResult } from '../activities/stages/diagnostic.js';

export interface DiagnosticInput {
  /** The task queue whose workers must answer. */
  queue: string;
  /** How long the activity may wait for a worker to pick it up: the "is anyone there" bound. */
  scheduleToStartSeconds?: number;
  holdMs?: number;
  maximumAttempts?: number;
}

/** Runs one diagnostic activity on the given queue: used by `pathgen doctor` as a real health check. */
export async function pathgenDiagnostic(input: DiagnosticInput): Promise<DiagnosticPingResult> {
  const holdSeconds = (input.holdMs ?? 0) / 1000;
  const { diagnosticPing } = proxyActivities<DiagnosticActivities>({
    taskQueue: input.queue,
    scheduleToStartTimeout: `${input.scheduleToStartSeconds ?? 10}s`,
    startToCloseTimeout: `${holdSeconds + 30}s`,
    // Short, so that a worker that died holding the activity is noticed within seconds.
    heartbeatTimeout: '5s',
    retry: { maximumAttempts: input.maximumAttempts ?? 1, initialInterval: '1s' },
  });
  return await diagnosticPing({ holdMs: input.holdMs });
}
