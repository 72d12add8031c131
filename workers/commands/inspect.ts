import type { Command } from 'commander';
import { inspectSlide } from '../../activities/wsi/tissue-patch-plan.js';
import { configFrom, conversionCacheDir, localSlidePath, printJson } from './command-context.js';

export function addInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description("Print a slide's metadata as JSON: format, vendor, levels, mpp, objective power, associated images.")
    .argument(
      '<slide>',
      'slide file (SVS, pyramidal TIFF, OME-TIFF, PNG/JPEG, a DICOM instance, or any format vips+OpenSlide convert) or DICOM series folder',
    )
    .action(async (slide: string, _options: unknown, command: Command) => {
      const config = configFrom(command);
      const metadata = await inspectSlide(await localSlidePath(slide), {
        conversionCacheDir: conversionCacheDir(config),
      });
      printJson(metadata, 2);
    });
}
