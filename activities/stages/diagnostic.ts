import { Context } from '@temporalio/activity';
import { hostname } from 'node:os';

export interface DiagnosticPingInput {
  /** Hold the activity this long, heartbeating every second: lets operators test shutdown and heartbeats. */
  holdMs?: number;
}

export interface DiagnosticPingResult {
  queue: string;
  host: string;
  pid: number;
  pathgenVersion: string;
  attempt: number;
  /** `model on provider` for each CLIP model the worker has open. */
  clipSessions: string[];
}

export interface DiagnosticDeps {
  pathgenVersion: string;
  clipSessions?: () => string[];
}

/** The activity `pathgen doctor` runs on every queue to prove that a live worker answers there. */
export function createDiagnosticActivities(deps: DiagnosticDeps) {
  return {
    async diagnosticPing(input: DiagnosticPingInput = {}): Promise<DiagnosticPingResult> {
      const context = Context.current();
      const deadline = Date.now() + (input.holdMs ?? 0);
      while (Date.now() < deadline) {
        context.heartbeat({ remainingMs: deadline - Date.now() });
        // Context.sleep rejects with a CancelledFailure on cancellation or worker shutdown.
        await context.sleep(Math.min(1000, deadline - Date.now()));
      }
      return {
        queue: context.info.taskQueue,
        host: hostname(),
        pid: process.pid,
        pathgenVersion: deps.pathgenVersion,
        attempt: context.info.attempt,
        clipSessions: deps.clipSessions?.() ?? [],
      };
    },
  };
}

export type DiagnosticActivities = ReturnType<typeof createDiagnosticActivities>;
