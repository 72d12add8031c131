import { beforeEach, onTestFailed } from 'vitest';
import { installRuntime } from '../../workers/install-runtime.js';

// The SDK logs to the console by default, which the no-stray-output rule would flag. Workers in
// tests keep warnings and errors (native core included) in memory instead, and a failing test
// reports the ones logged while it ran as one more error (the native side hands its logs over on a
// short timer, so the last few milliseconds before a failure may be missing).
const temporalLogs: string[] = [];
installRuntime('WARN', (entry) => {
  temporalLogs.push(`${entry.level} ${entry.message}`);
});

beforeEach(() => {
  const first = temporalLogs.length;
  onTestFailed(({ task }) => {
    const lines = temporalLogs.slice(first);
    if (lines.length > 0) {
      task.result?.errors?.push({ name: 'TemporalWorkerLog', message: `Temporal logged:\n${lines.join('\n')}` });
    }
  });
});
