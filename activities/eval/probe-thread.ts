import { Worker } from 'node:worker_threads';
import { PathgenError } from '../common/errors.js';
import { threadEntryCode } from '../runtime/thread-entry.js';
import type { LinearProbeShotResult } from './eval-types.js';
import type { LinearProbeInput } from './linear-probe.js';

// The linear probe is seconds to minutes of synchronous solving; on the activity's thread it would
// starve the heartbeat and make cancellation wait. It runs on a thread of its own instead, which a
// cancelled activity terminates.

export async function runLinearProbeInThread(
  input: LinearProbeInput,
  signal?: AbortSignal,
): Promise<LinearProbeShotResult[]> {
  signal?.throwIfAborted();
  const worker = new Worker(bootstrapCode(), { eval: true, workerData: input });
  try {
    return await new Promise<LinearProbeShotResult[]>((resolve, reject) => {
      const abort = () => {
        void worker.terminate();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('linear probe cancelled'));
      };
      signal?.addEventListener('abort', abort, { once: true });
      worker.once(
        'message',
        (
          message:
            | { ok: true; result: LinearProbeShotResult[] }
            | { ok: false; error: { code?: string; message: string; details?: Record<string, unknown> } },
        ) => {
          signal?.removeEventListener('abort', abort);
          if (message.ok) resolve(message.result);
          else
            reject(
              message.error.code
                ? new PathgenError(message.error.code, message.error.message, message.error.details ?? {})
                : new Error(message.error.message),
            );
        },
      );
      worker.once('error', (error) => {
        signal?.removeEventListener('abort', abort);
        reject(error);
      });
    });
  } finally {
    await worker.terminate();
  }
}

function bootstrapCode(): string {
  return threadEntryCode(import.meta.url, 'probe-thread-worker');
}
