import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { LogEntry, LogLevel } from '@temporalio/worker';

/**
 * Installs the Temporal runtime once per process with one logger for both the TypeScript side and
 * the native core (forwarded), so nothing reaches the console except through `sink`.
 */
export function installRuntime(level: LogLevel, sink?: (entry: LogEntry) => void): void {
  Runtime.install({
    logger: new DefaultLogger(level, sink),
    telemetryOptions: { logging: { filter: { core: level, other: 'ERROR' }, forward: {} } },
  });
}
