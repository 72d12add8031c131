import type { Command } from 'commander';
import { queueRoles } from '../../activities/contracts/task-queues.js';
import { openConfiguredStore } from '../configured-store.js';
import { formatChecks, runDoctor } from '../doctor.js';
import { configFrom, parseQueues } from './command-context.js';
import { ExitError, exitCodes } from './exit-status.js';

export function addDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('Check config, Temporal, a live worker on every queue, the store round trip and installed tools.')
    .option('-q, --queues <roles>', 'queue roles to check', queueRoles.join(','))
    .option('--timeout <seconds>', 'seconds each queue gets to answer', '10')
    .action(async (options: { queues: string; timeout: string }, command: Command) => {
      const roles = parseQueues(options.queues);
      const config = configFrom(command);
      const store = openConfiguredStore(config.storage);
      const checks = await runDoctor({ config, store, roles, queueTimeoutSeconds: Number(options.timeout) });
      process.stdout.write(`${formatChecks(checks)}\n`);
      if (checks.some((check) => check.status === 'fail')) {
        throw new ExitError(exitCodes.failed, 'doctor: some checks failed (see the fixes above)');
      }
    });
}
