import { parentPort, workerData } from 'node:worker_threads';
import { isPathgenError } from '../common/errors.js';
import type { LinearProbeInput } from './linear-probe.js';
import { runLinearProbe } from './linear-probe.js';

// Runs one linear probe (probe-thread.ts starts this thread) and posts its result or typed error.
try {
  parentPort?.postMessage({ ok: true, result: runLinearProbe(workerData as LinearProbeInput) });
} catch (error) {
  parentPort?.postMessage({
    ok: false,
    error: isPathgenError(error)
      ? { code: error.code, message: error.message, details: { ...error.details } }
      : { message: error instanceof Error ? error.message : String(error) },
  });
}
