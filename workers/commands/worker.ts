import { Option } from 'commander';
import type { Command } from 'commander';
import type { LogLevel } from '@temporalio/worker';
import { queueRoles } from '../../activities/contracts/task-queues.js';
import { openConfiguredStore } from '../configured-store.js';
import { installRuntime } from '../install-runtime.js';
import { pathgenVersion } from '../package-info.js';
import { runWorkers } from '../run-workers.js';
import { configFrom, parseQueues } from './command-context.js';

export function addWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run workers for the chosen task queues until SIGINT/SIGTERM (cpu also hosts the workflows).')
    .option('-q, --queues <roles>', `comma-separated queue roles: ${queueRoles.join(', ')}`, queueRoles.join(','))
    .addOption(
      new Option('--log-level <level>', 'worker log level')
        .choices(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'])
        .default('INFO'),
    )
    .action(async (options: { queues: string; logLevel: LogLevel }, command: Command) => {
      const roles = parseQueues(options.queues);
      const config = configFrom(command);
      installRuntime(options.logLevel);
      const store = openConfiguredStore(config.storage);
      await runWorkers({
        config,
        roles,
        store,
        // Tests and scripts wait for "polling" on stderr before they send work.
        onReady: (queues, clip) =>
          process.stderr.write(
            `pathgen worker ${pathgenVersion} (pid ${process.pid}) polling ${queues.join(', ')} on ${config.temporal.address}${clip ? `; ${clip}` : ''}\n`,
          ),
      });
      process.stderr.write('pathgen worker stopped cleanly\n');
    });
}
