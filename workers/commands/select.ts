import type { Command } from 'commander';
import { selectionOptions } from '../../activities/stages/select.js';
import { configuredAgents } from '../configured-agents.js';
import { clipModelLoader } from '../configured-clip.js';
import { openConfiguredStore } from '../configured-store.js';
import { selectLocally } from '../select-locally.js';
import {
  checkedProject,
  configFrom,
  conversionCacheDir,
  localSlidePath,
  numberFlag,
  printJson,
  readTextFlag,
} from './command-context.js';

interface SelectFlags {
  candidates: string;
  out: string;
  project: string;
  model?: string;
  report?: string;
  seed?: string;
}

export function addSelectCommand(program: Command): void {
  program
    .command('select')
    .description(
      "Run the select stage locally (no Temporal): embed a slide's candidates, score, cluster, keep representatives.",
    )
    .argument('<slide>', 'slide file or DICOM series folder')
    .requiredOption('--candidates <file>', "the tile stage's candidates.jsonl (pathgen tile)")
    .requiredOption('-o, --out <dir>', 'output folder: patches/<x>_<y>.jpg, selection.jsonl, summary.json')
    .requiredOption('--project <code>', 'TCGA project, e.g. TCGA-LUAD (its attribute prompts)')
    .option('--model <dir>', 'CLIP model directory (config select.model); without one, model-free selection')
    .option('--report <file>', "the slide's report: findings become prompts (findings agent from the config)")
    .option('--seed <n>', 'seed for k-means, cluster draws and the probabilistic duplicate filter')
    .action(async (slide: string, options: SelectFlags, command: Command) => {
      const config = configFrom(command);
      const project = checkedProject(options.project);
      const select = {
        ...config.select,
        ...(options.seed !== undefined ? { seed: numberFlag(options.seed, '--seed', true) } : {}),
        ...(options.model !== undefined ? { model: options.model } : {}),
      };
      const report = options.report === undefined ? undefined : await readTextFlag(options.report, '--report');
      const slidePath = await localSlidePath(slide);
      const findings = report
        ? (await (await configuredAgents(config, openConfiguredStore(config.storage))).findings(report)).findings
        : [];
      const warn = (message: string) => process.stderr.write(`pathgen: warning: ${message}\n`);
      const model = select.model
        ? await clipModelLoader({ ...config, select }, openConfiguredStore(config.storage), warn)(select.model)
        : undefined;
      try {
        const summary = await selectLocally({
          slidePath,
          candidatesFile: options.candidates,
          outDir: options.out,
          project,
          findings,
          ...(model ? { model } : {}),
          selection: selectionOptions(select),
          batchSize: select.batchSize,
          ...(select.scaledDecode ? { scaleDenom: 2 } : {}),
          jpegQuality: select.jpegQuality,
          conversionCacheDir: conversionCacheDir(config),
        });
        printJson(summary);
      } finally {
        await model?.dispose();
      }
    });
}
