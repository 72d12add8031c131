#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import type { LogLevel } from '@temporalio/worker';
import { errorMessage, isPathgenError } from '../activities/common/errors.js';
import { S3ObjectStore } from '../activities/store/s3-store.js';
import { slideFailureTypes } from '../activities/contracts/failure-types.js';
import { queueRoles } from '../activities/contracts/task-queues.js';
import type { QueueRole } from '../activities/contracts/task-queues.js';
import { formatConfigIssues, loadConfig } from './config/load-config.js';
import type { PathgenConfig } from './config/schema.js';
import { openConfiguredStore } from './configured-store.js';
import { formatChecks, runDoctor } from './doctor.js';
import { installRuntime } from './install-runtime.js';
import { pathgenVersion } from './package-info.js';
import { runDemo } from './run-demo.js';
import { runWorkers } from './run-workers.js';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ClipTokenizer } from '../activities/clip/clip-tokenizer.js';
import { fileURLToPath } from 'node:url';
import { inspectSlide, tileSlideToDirectory } from '../activities/wsi/tissue-patch-plan.js';
import { assertSlideFileExists } from '../activities/staging/slide-reference.js';
import { readFile } from 'node:fs/promises';
import { tcgaProject } from '../activities/tcga/tcga-projects.js';
import { patchFiles, runAgentsOnFolder } from './agents-on-folder.js';
import { configuredAgents } from './configured-agents.js';
import { clipModelLoader } from './configured-clip.js';
import { selectionOptions } from '../activities/stages/select.js';
import { selectLocally } from './select-locally.js';

// Exit codes: 0 success, 1 a check or job failed, 2 bad usage or invalid configuration,
// 3 a typed input failure (e.g. an unreadable slide).
export const exitCodes = { ok: 0, failed: 1, usage: 2, badInput: 3 } as const;

class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

function configFrom(command: Command): PathgenConfig {
  const { config: configPath } = command.optsWithGlobals<{ config?: string }>();
  const result = loadConfig({ configPath });
  if (!result.ok) throw new ExitError(exitCodes.usage, formatConfigIssues(result.issues));
  return result.config;
}

function parseQueues(value: string): QueueRole[] {
  const roles = value
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);
  const unknown = roles.filter((role) => !(queueRoles as readonly string[]).includes(role));
  if (unknown.length > 0 || roles.length === 0) {
    throw new ExitError(
      exitCodes.usage,
      `--queues takes a comma-separated list of ${queueRoles.join(', ')}; got ${JSON.stringify(value)}`,
    );
  }
  return [...new Set(roles)] as QueueRole[];
}

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
    .showHelpAfterError()
    .exitOverride();

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
        onReady: (queues) =>
          process.stderr.write(
            `pathgen worker ${pathgenVersion} (pid ${process.pid}) polling ${queues.join(', ')} on ${config.temporal.address}\n`,
          ),
      });
      process.stderr.write('pathgen worker stopped cleanly\n');
    });

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
    .action(
      async (
        options: { slides: string; seed: string; dir: string; stopServer?: boolean; train?: boolean; epochs: string },
        command: Command,
      ) => {
        const config = configFrom(command);
        const slides = number(options.slides, '--slides', true);
        if (slides < 1) throw new ExitError(exitCodes.usage, '--slides takes a positive integer');
        installRuntime('WARN');
        const outcome = await runDemo({
          config,
          store: openConfiguredStore(config.storage),
          dir: path.resolve(options.dir),
          stateDir: path.resolve('.state', 'demo-temporal'),
          slides,
          seed: number(options.seed, '--seed', true),
          out: process.stdout,
          keepServer: !options.stopServer,
          ...(options.train ? { train: { epochs: number(options.epochs, '--epochs', true) } } : {}),
        });
        if (outcome.result.progress.completed === 0) {
          throw new ExitError(exitCodes.failed, 'pathgen demo: no slide completed (see the failures above)');
        }
      },
    );

  program
    .command('inspect')
    .description("Print a slide's metadata as JSON: format, vendor, levels, mpp, objective power, associated images.")
    .argument('<slide>', 'slide file (SVS, pyramidal TIFF, OME-TIFF, PNG/JPEG, or any format vips+OpenSlide convert)')
    .action(async (slide: string, _options: unknown, command: Command) => {
      const config = configFrom(command);
      const metadata = await inspectSlide(await localSlidePath(slide), {
        conversionCacheDir: path.join(config.slideCache.dir, 'converted'),
      });
      process.stdout.write(`${JSON.stringify(metadata, null, 2)}\n`);
    });

  program
    .command('tile')
    .description('Run the tile stage locally (no Temporal): tissue mask, candidate grid, thumbnail, optional patches.')
    .argument('<slide>', 'slide file')
    .requiredOption('-o, --out <dir>', 'output folder: candidates.jsonl, metadata.json, thumbnail.png [, patches/]')
    .option('--patch-size <px>', 'patch side in pixels (config tile.patchSize, default 672)')
    .option('--level <n>', 'pyramid level to read patches at (default 0)')
    .option('--mpp <microns>', 'target microns per pixel instead of a level')
    .option('--mpp-override <microns>', "the slide's level-0 microns per pixel, when the file lacks or misstates it")
    .option('--min-tissue <fraction>', 'keep cells with more tissue than this (default 0.5)')
    .option('--max <n>', 'keep at most N candidates, sampled with --seed')
    .option('--seed <n>', 'seed for the --max sample (default 0)')
    .option('--write-patches', 'also write patches/<x>_<y>.png (lossless)')
    .action(async (slide: string, options: TileFlags, command: Command) => {
      const config = configFrom(command);
      const tiling = { ...config.tile, ...tileFlagsToConfig(options) };
      const summary = await tileSlideToDirectory(await localSlidePath(slide), options.out, {
        conversionCacheDir: path.join(config.slideCache.dir, 'converted'),
        patchSize: tiling.patchSize,
        level: tiling.level,
        ...(tiling.targetMpp !== undefined ? { mpp: tiling.targetMpp } : {}),
        ...(options.mppOverride !== undefined ? { mppOverride: number(options.mppOverride, '--mpp-override') } : {}),
        minTissueFraction: tiling.minTissueFraction,
        maskDownsample: tiling.thumbnailDownsample,
        ...(tiling.maxCandidates !== undefined ? { maxCandidates: tiling.maxCandidates } : {}),
        seed: tiling.seed,
        writePatches: tiling.writePatches,
      });
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    });

  const clip = program.command('clip').description('CLIP utilities for debugging models and prompts.');
  clip
    .command('tokenize')
    .description('Read lines from stdin; print one JSON array of token ids per line, as open_clip.tokenize does.')
    .requiredOption('--vocab <file>', "open_clip's bpe_simple_vocab_16e6.txt.gz, or a Hugging Face tokenizer.json")
    .option('--context <n>', 'context length (padding and truncation)', '77')
    .option('--unpadded', "print each line's ids without padding or truncation (start and end tokens included)")
    .action(async (options: { vocab: string; context: string; unpadded?: boolean }) => {
      const contextLength = number(options.context, '--context', true);
      const tokenizer = options.vocab.endsWith('.json')
        ? await ClipTokenizer.fromHuggingFaceJson(options.vocab, { contextLength })
        : await ClipTokenizer.fromBpeFile(options.vocab, { contextLength });
      const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
      for await (const line of lines) {
        const ids = options.unpadded
          ? [tokenizer.startTokenId, ...tokenizer.encode(line), tokenizer.endTokenId]
          : Array.from(tokenizer.tokenize([line]).ids);
        process.stdout.write(`${JSON.stringify(ids)}\n`);
      }
    });

  program
    .command('select')
    .description(
      "Run the select stage locally (no Temporal): embed a slide's candidates, score, cluster, keep representatives.",
    )
    .argument('<slide>', 'slide file')
    .requiredOption('--candidates <file>', "the tile stage's candidates.jsonl (pathgen tile)")
    .requiredOption('-o, --out <dir>', 'output folder: patches/<x>_<y>.jpg, selection.jsonl, summary.json')
    .requiredOption('--project <code>', 'TCGA project, e.g. TCGA-LUAD (its attribute prompts)')
    .option('--model <dir>', 'CLIP model directory (config select.model); without one, model-free selection')
    .option('--report <file>', "the slide's report: findings become prompts (findings agent from the config)")
    .option('--seed <n>', 'seed for k-means, cluster draws and the probabilistic duplicate filter')
    .action(
      async (
        slide: string,
        options: { candidates: string; out: string; project: string; model?: string; report?: string; seed?: string },
        command: Command,
      ) => {
        const config = configFrom(command);
        const project = checkedProject(options.project);
        const select = {
          ...config.select,
          ...(options.seed !== undefined ? { seed: number(options.seed, '--seed', true) } : {}),
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
            jpegQuality: select.jpegQuality,
            conversionCacheDir: path.join(config.slideCache.dir, 'converted'),
          });
          process.stdout.write(`${JSON.stringify(summary)}\n`);
        } finally {
          await model?.dispose();
        }
      },
    );

  const agentsCommand = program.command('agents').description('The agent cascade, locally (no Temporal).');
  agentsCommand
    .command('run')
    .description('findings → describe → revise → summarize over a folder of patch images; one JSON per patch in --out.')
    .requiredOption('--patches <dir>', 'folder of patch images (jpg, png, tif)')
    .requiredOption('--out <dir>', 'output folder: <patch name>.json per patch')
    .option('--report <file>', "the slide's pathology report (text), for the findings agent")
    .option('--project <code>', 'TCGA project, e.g. TCGA-LUAD (names the organ)')
    .option('--mpp <microns>', 'microns per pixel of the patches (built-in nuclei density)')
    .action(
      async (
        options: { patches: string; out: string; report?: string; project?: string; mpp?: string },
        command: Command,
      ) => {
        const config = configFrom(command);
        const project = options.project === undefined ? undefined : checkedProject(options.project);
        const mpp = options.mpp === undefined ? undefined : number(options.mpp, '--mpp');
        const report = options.report === undefined ? undefined : await readTextFlag(options.report, '--report');
        await patchFiles(options.patches).catch((error: unknown) => {
          throw new ExitError(exitCodes.usage, `--patches: ${errorMessage(error)}`);
        });
        const agents = await configuredAgents(config, openConfiguredStore(config.storage));
        const summary = await runAgentsOnFolder({
          patchesDir: options.patches,
          outDir: options.out,
          agents,
          ...(report !== undefined ? { report } : {}),
          ...(project !== undefined ? { project } : {}),
          ...(mpp !== undefined ? { mpp } : {}),
        });
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      },
    );

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

  return program;
}

interface TileFlags {
  out: string;
  patchSize?: string;
  level?: string;
  mpp?: string;
  mppOverride?: string;
  minTissue?: string;
  max?: string;
  seed?: string;
  writePatches?: boolean;
}

function number(value: string, flag: string, integer = false): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || (integer && !Number.isInteger(parsed))) {
    throw new ExitError(
      exitCodes.usage,
      `${flag} takes ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}

/** Flags override the config's tile section; the result is validated by the same schema. */
function tileFlagsToConfig(flags: TileFlags): Partial<PathgenConfig['tile']> {
  const tile: Record<string, unknown> = {};
  if (flags.patchSize !== undefined) tile.patchSize = number(flags.patchSize, '--patch-size', true);
  if (flags.level !== undefined) tile.level = number(flags.level, '--level', true);
  if (flags.mpp !== undefined) tile.targetMpp = number(flags.mpp, '--mpp');
  if (flags.minTissue !== undefined) tile.minTissueFraction = number(flags.minTissue, '--min-tissue');
  if (flags.max !== undefined) tile.maxCandidates = number(flags.max, '--max', true);
  if (flags.seed !== undefined) tile.seed = number(flags.seed, '--seed', true);
  if (flags.writePatches) tile.writePatches = true;
  const result = loadConfig({ env: {}, overrides: { tile } });
  if (!result.ok) throw new ExitError(exitCodes.usage, formatConfigIssues(result.issues));
  return Object.fromEntries(
    Object.keys(tile).map((key) => [key, result.config.tile[key as keyof PathgenConfig['tile']]]),
  );
}

function checkedProject(value: string): string {
  const project = tcgaProject(value);
  if (!project) {
    throw new ExitError(
      exitCodes.usage,
      `--project takes a TCGA project code such as TCGA-LUAD; got ${JSON.stringify(value)}`,
    );
  }
  return project.code;
}

async function readTextFlag(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new ExitError(exitCodes.usage, `${flag}: cannot read ${file}: ${errorMessage(error)}`);
  }
}

/** The local commands read files on this machine; store keys are for workers. */
async function localSlidePath(reference: string): Promise<string> {
  const file = reference.startsWith('file://') ? fileURLToPath(reference) : path.resolve(reference);
  await assertSlideFileExists(file);
  return file;
}

// Typed failures of the input itself: exit 3 with the reason, never a stack trace.
const inputFailureCodes = new Set<string>(slideFailureTypes);
// A setting that cannot work (a wrong model server, a missing key or model): bad configuration.
const configFailureCodes = new Set<string>(['AgentMisconfigured', 'ModelNotFound', 'ModelInvalid', 'Misconfigured']);

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; it already printed what was asked for.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0
        ? exitCodes.ok
        : exitCodes.usage;
    }
    if (error instanceof ExitError) {
      process.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    if (isPathgenError(error)) {
      process.stderr.write(`pathgen: ${error.code}: ${error.message.split('\n')[0]}\n`);
      if (configFailureCodes.has(error.code)) return exitCodes.usage;
      return inputFailureCodes.has(error.code) ? exitCodes.badInput : exitCodes.failed;
    }
    process.stderr.write(
      `pathgen: unexpected error: ${errorMessage(error)}\n${error instanceof Error ? (error.stack ?? '') : ''}\n`,
    );
    return exitCodes.failed;
  }
}

process.exitCode = await main(process.argv.slice(2));
