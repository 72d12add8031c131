import { DefaultLogger, Runtime } from '@temporalio/worker';

// The SDK logs to the console by default, which the no-stray-output rule would flag. Workers in
// tests log errors only, into a buffer that a failing test can print.
export const temporalLogs: string[] = [];
Runtime.install({
  logger: new DefaultLogger('WARN', (entry) => {
    temporalLogs.push(`${entry.level} ${entry.message}`);
  }),
});
