import type { Command } from 'commander';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { encodePatchPng } from '../../activities/wsi/patch-reading.js';
import { decodeThreads, setDecodeThreads } from '../../activities/wsi/native-codecs.js';
import { parseRegionOrigins, readRegionBatch } from '../../activities/wsi/region-batch.js';
import { configFrom, conversionCacheDir, localSlidePath, numberFlag, printJson } from './command-context.js';
import { ExitError, exitCodes } from './exit-status.js';

export function addReadCommand(program: Command): void {
  program
    .command('read')
    .description(
      'Read level regions listed in a JSONL file ({"x": …, "y": …} per line, level-0 pixels) and print one JSON line ' +
        'of figures: {regions, seconds, regionsPerSecond, megapixelsPerSecond, threads, decoder}.',
    )
    .argument('<slide>', 'slide file or DICOM folder')
    .requiredOption('--coords <file>', 'JSONL of region origins')
    .option('--size <px>', 'region width and height', '672')
    .option('--level <n>', 'pyramid level', '0')
    .option('--threads <n>', 'tile decodes at once (default: config reader.threads, 0 = one per core)')
    .option('--out <dir>', 'also write each region as <x>_<y>.png here')
    .action(async (slide: string, options: ReadFlags, command: Command) => {
      const config = configFrom(command);
      const size = numberFlag(options.size, '--size', true);
      const level = numberFlag(options.level, '--level', true);
      const threads =
        options.threads === undefined ? config.reader.threads : numberFlag(options.threads, '--threads', true);
      if (size < 1 || level < 0 || threads < 0)
        throw new ExitError(exitCodes.usage, '--size, --level and --threads must not be negative');
      if (threads > 0) setDecodeThreads(threads);
      let origins;
      try {
        origins = parseRegionOrigins(await readFile(options.coords, 'utf8'), options.coords);
      } catch (error) {
        throw new ExitError(exitCodes.usage, error instanceof Error ? error.message : String(error));
      }
      if (options.out) await mkdir(options.out, { recursive: true });
      const reader = await openSlide(await localSlidePath(slide), {
        conversionCacheDir: conversionCacheDir(config),
        tileCacheBytes: Math.round(config.reader.tileCacheMiB * 2 ** 20),
      });
      try {
        const out = options.out;
        const figures = await readRegionBatch(reader, origins, {
          size,
          level,
          // Two reads per decode thread: one decoding while the other is assembled or written.
          inFlight: decodeThreads() * 2,
          ...(out
            ? {
                onRegion: async ({ x, y }, image) =>
                  writeFile(path.join(out, `${x}_${y}.png`), await encodePatchPng(image)),
              }
            : {}),
        });
        printJson({ ...figures, threads: decodeThreads(), decoder: reader.decoder ?? reader.format });
      } finally {
        await reader.close();
      }
    });
}

interface ReadFlags {
  coords: string;
  size: string;
  level: string;
  threads?: string;
  out?: string;
}
