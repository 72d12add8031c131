import type { Command } from 'commander';
import { S3ObjectStore } from '../../activities/store/s3-store.js';
import { openConfiguredStore } from '../configured-store.js';
import { configFrom } from './command-context.js';

export function addStoreCommand(program: Command): void {
  const store = program.command('store').description('Object store utilities.');
  store
    .command('init')
    .description('Create the configured S3 bucket if it does not exist (fs stores need nothing).')
    .action(async (_options: unknown, command: Command) => {
      const config = configFrom(command);
      const opened = openConfiguredStore(config.storage);
      if (opened instanceof S3ObjectStore) {
        const created = await opened.ensureBucket();
        process.stdout.write(`${created ? 'created' : 'found'} ${opened.description}\n`);
      } else {
        process.stdout.write(`${opened.description} needs no set-up\n`);
      }
    });
}
