import type { Command } from 'commander';
import path from 'node:path';
import { openConfiguredStore } from '../configured-store.js';
import { installRuntime } from '../install-runtime.js';
import { runDemo } from '../run-demo.js';
import { configFrom, numberFlag } from './command-context.js';
import { ExitError, exitCodes } from './exit-status.js';

interface DemoFlags {
  slides: string;
  seed: string;
  dir: string;
  stopServer?: boolean;
  train?: boolean;
  epochs: string;
}

export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'The whole pipeline on embedded defaults: synthetic slides with reports → tile → select → agents → export.',
    )
    .option('--slides <n>', 'synthetic slides to generate', '3')
    .option('--seed <n>', 'seed of the synthetic cohort', '0')
    .option('--dir <dir>', "where the demo's slides and manifest go", '.pathgen/demo')
    .option('--stop-server', 'stop a Temporal dev server the demo started when it ends (default: keep it for the UI)')
    .option(
      '--train',
      'then train a tiny CLIP on the export and zero-shot-evaluate it (needs infra/install-tools.sh --train)',
    )
    .option('--epochs <n>', 'training epochs for --train', '30')
    .action(async (options: DemoFlags, command: Command) => {
      const config = configFrom(command);
      const slides = numberFlag(options.slides, '--slides', true);
      if (slides < 1) throw new ExitError(exitCodes.usage, '--slides takes a positive integer');
      // Every flag is checked before the Temporal runtime starts: once it runs, it keeps the process alive.
      const seed = numberFlag(options.seed, '--seed', true);
      const epochs = options.train ? numberFlag(options.epochs, '--epochs', true) : undefined;
      installRuntime('WARN');
      const outcome = await runDemo({
        config,
        store: openConfiguredStore(config.storage),
        dir: path.resolve(options.dir),
        stateDir: path.resolve('.state', 'demo-temporal'),
        slides,
        seed,
        out: process.stdout,
        keepServer: !options.stopServer,
        ...(epochs !== undefined ? { train: { epochs } } : {}),
      });
      if (outcome.result.progress.completed === 0) {
        throw new ExitError(exitCodes.failed, 'pathgen demo: no slide completed (see the failures above)');
      }
    });
}
