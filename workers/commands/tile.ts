import type { Command } from 'commander';
import { tileSlideToDirectory } from '../../activities/wsi/tissue-patch-plan.js';
import { formatConfigIssues, loadConfig } from '../config/load-config.js';
import type { PathgenConfig } from '../config/schema.js';
import { configFrom, conversionCacheDir, localSlidePath, numberFlag, printJson } from './command-context.js';
import { ExitError, exitCodes } from './exit-status.js';

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

export function addTileCommand(program: Command): void {
  program
    .command('tile')
    .description('Run the tile stage locally (no Temporal): tissue mask, candidate grid, thumbnail, optional patches.')
    .argument('<slide>', 'slide file or DICOM series folder')
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
        conversionCacheDir: conversionCacheDir(config),
        patchSize: tiling.patchSize,
        level: tiling.level,
        ...(tiling.targetMpp !== undefined ? { mpp: tiling.targetMpp } : {}),
        ...(options.mppOverride !== undefined
          ? { mppOverride: numberFlag(options.mppOverride, '--mpp-override') }
          : {}),
        minTissueFraction: tiling.minTissueFraction,
        maskDownsample: tiling.thumbnailDownsample,
        ...(tiling.maxCandidates !== undefined ? { maxCandidates: tiling.maxCandidates } : {}),
        seed: tiling.seed,
        writePatches: tiling.writePatches,
      });
      printJson(summary);
    });
}

/** Flags override the config's tile section; the result is validated by the same schema. */
function tileFlagsToConfig(flags: TileFlags): Partial<PathgenConfig['tile']> {
  const tile: Record<string, unknown> = {};
  if (flags.patchSize !== undefined) tile.patchSize = numberFlag(flags.patchSize, '--patch-size', true);
  if (flags.level !== undefined) tile.level = numberFlag(flags.level, '--level', true);
  if (flags.mpp !== undefined) tile.targetMpp = numberFlag(flags.mpp, '--mpp');
  if (flags.minTissue !== undefined) tile.minTissueFraction = numberFlag(flags.minTissue, '--min-tissue');
  if (flags.max !== undefined) tile.maxCandidates = numberFlag(flags.max, '--max', true);
  if (flags.seed !== undefined) tile.seed = numberFlag(flags.seed, '--seed', true);
  if (flags.writePatches) tile.writePatches = true;
  // Validated alone (no env, no file) so an error names only what the flags got wrong.
  const result = loadConfig({ env: {}, overrides: { tile } });
  if (!result.ok) throw new ExitError(exitCodes.usage, formatConfigIssues(result.issues));
  return Object.fromEntries(
    Object.keys(tile).map((key) => [key, result.config.tile[key as keyof PathgenConfig['tile']]]),
  );
}
