import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { LogEntry, LogLevel } from '@temporalio/worker';
import { inspect } from 'node:util';

/**
 * Installs the Temporal runtime once per process with one logger for both the TypeScript side and
 * the native core (forwarded), so nothing reaches the console except through `sink`.
 */
export function installRuntime(level: LogLevel, sink?: (entry: LogEntry) => void): void {
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      // Only the cpu queue hosts workflows, by design: the SDK's warning about the others is noise.
      if (entry.message.startsWith('No workflows registered')) return;
      (sink ?? writeToStderr)(entry);
    }),
    telemetryOptions: { logging: { filter: { core: level, other: 'ERROR' }, forward: {} } },
  });
}

/** The SDK's own format: time, level, message, metadata. */
function writeToStderr(entry: LogEntry): void {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta =
    entry.meta && Object.keys(entry.meta).length > 0 ? ` ${inspect(entry.meta, { breakLength: Infinity })}` : '';
  process.stderr.write(`${time} [${entry.level}] ${entry.message}${meta}\n`);
}
