#!/usr/bin/env node
import { Command } from 'commander';
import { addAgentsCommand } from './commands/agents.js';
import { addClipCommand } from './commands/clip.js';
import { addDemoCommand } from './commands/demo.js';
import { addDoctorCommand } from './commands/doctor.js';
import { exitCodes, reportFailure } from './commands/exit-status.js';
import { addInspectCommand } from './commands/inspect.js';
import { addReadCommand } from './commands/read.js';
import { addReviewCommand } from './commands/review.js';
import { addSelectCommand } from './commands/select.js';
import { addSetupCommand } from './commands/setup.js';
import { addStoreCommand } from './commands/store.js';
import { addTileCommand } from './commands/tile.js';
import { addWorkerCommand } from './commands/worker.js';
import { pathgenVersion } from './package-info.js';

// The `pathgen` entry: the global flags, one module per subcommand under commands/, and one place
// that turns whatever a command throws into an exit code.

export { exitCodes } from './commands/exit-status.js';

// In the order `pathgen --help` lists them.
const subcommands = [
  addWorkerCommand,
  addSetupCommand,
  addDoctorCommand,
  addDemoCommand,
  addInspectCommand,
  addReadCommand,
  addTileCommand,
  addClipCommand,
  addSelectCommand,
  addAgentsCommand,
  addReviewCommand,
  addStoreCommand,
];

export function buildProgram(): Command {
  const program = new Command('pathgen')
    .description(
      'Durable PathGen-1.6M data engine: whole-slide images and reports to a captioned patch dataset, on Temporal.',
    )
    .version(pathgenVersion)
    .option(
      '-c, --config <file>',
      'config file (JSON or YAML); default $PATHGEN_CONFIG; PATHGEN_* env variables override it',
    )
    // Subcommands copy these settings when they are created, so they come before the subcommands.
    .showHelpAfterError()
    .exitOverride();
  for (const addSubcommand of subcommands) addSubcommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodes.ok;
  } catch (error) {
    return reportFailure(error);
  }
}

process.exitCode = await main(process.argv.slice(2));
