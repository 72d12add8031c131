import { installRuntime } from '../../workers/install-runtime.js';

// The SDK logs to the console by default, which the no-stray-output rule would flag. Workers in
// tests keep warnings and errors (native core included) in a buffer that a failing test can print.
export const temporalLogs: string[] = [];
installRuntime('WARN', (entry) => {
  temporalLogs.push(`${entry.level} ${entry.message}`);
});
