import type { Command } from 'commander';
import { errorMessage } from '../../activities/common/errors.js';
import { patchFiles, runAgentsOnFolder } from '../agents-on-folder.js';
import { configuredAgents } from '../configured-agents.js';
import { openConfiguredStore } from '../configured-store.js';
import { checkedProject, configFrom, numberFlag, printJson, readTextFlag } from './command-context.js';
import { ExitError, exitCodes } from './exit-status.js';

interface AgentsRunFlags {
  patches: string;
  out: string;
  report?: string;
  project?: string;
  mpp?: string;
}

export function addAgentsCommand(program: Command): void {
  const agents = program.command('agents').description('The agent cascade, locally (no Temporal).');
  agents
    .command('run')
    .description('findings → describe → revise → summarize over a folder of patch images; one JSON per patch in --out.')
    .requiredOption('--patches <dir>', 'folder of patch images (jpg, png, tif)')
    .requiredOption('--out <dir>', 'output folder: <patch name>.json per patch')
    .option('--report <file>', "the slide's pathology report (text), for the findings agent")
    .option('--project <code>', 'TCGA project, e.g. TCGA-LUAD (names the organ)')
    .option('--mpp <microns>', 'microns per pixel of the patches (built-in nuclei density)')
    .action(async (options: AgentsRunFlags, command: Command) => {
      const config = configFrom(command);
      const project = options.project === undefined ? undefined : checkedProject(options.project);
      const mpp = options.mpp === undefined ? undefined : numberFlag(options.mpp, '--mpp');
      const report = options.report === undefined ? undefined : await readTextFlag(options.report, '--report');
      // An empty or missing folder is a usage error, found before the agents (and their models) load.
      await patchFiles(options.patches).catch((error: unknown) => {
        throw new ExitError(exitCodes.usage, `--patches: ${errorMessage(error)}`);
      });
      const cascade = await configuredAgents(config, openConfiguredStore(config.storage));
      const summary = await runAgentsOnFolder({
        patchesDir: options.patches,
        outDir: options.out,
        agents: cascade,
        ...(report !== undefined ? { report } : {}),
        ...(project !== undefined ? { project } : {}),
        ...(mpp !== undefined ? { mpp } : {}),
      });
      printJson(summary);
    });
}
