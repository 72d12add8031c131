import type { Command } from 'commander';
import { runSetup } from '../setup.js';
import { configFrom, numberFlag } from './command-context.js';

export function addSetupCommand(program: Command): void {
  program
    .command('setup')
    .description(
      "Prepare the configured Temporal namespace and store for pathgen: check (or create) the namespace, register the workflows' search attributes, check (or create) the bucket. Idempotent.",
    )
    .option('--create-namespace', 'create the namespace when it does not exist')
    .option('--retention-days <days>', 'retention of closed workflows in a namespace this creates', '30')
    .option('--create-bucket', 'create the S3 bucket when it does not exist')
    .action(
      async (
        options: { createNamespace?: boolean; retentionDays: string; createBucket?: boolean },
        command: Command,
      ) => {
        const config = configFrom(command);
        const retentionDays = numberFlag(options.retentionDays, '--retention-days', true);
        await runSetup({
          config,
          createNamespace: options.createNamespace === true,
          retentionDays,
          createBucket: options.createBucket === true,
          onStep: (line) => process.stdout.write(`${line}\n`),
        });
        process.stdout.write('setup: done\n');
      },
    );
}
