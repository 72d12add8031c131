import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { RandomAccessFile } from '../../activities/wsi/random-access-file.js';
import { runCommand } from '../../activities/wsi/run-command.js';
import { Compression, readTiffImage } from '../../activities/wsi/tiff-image.js';
import { parseTiff, Tag } from '../../activities/wsi/tiff-parser.js';
import { writeTiff, type TiffPageSpec } from '../../activities/wsi/tiff-writer.js';
import { pageSpecFrom } from '../../workers/synthetic/slides/synthetic-slides.js';

// An Aperio SVS whose levels are JPEG 2000 (compression 33005, as older Aperio scanners wrote),
// made from a JPEG one: each level is re-encoded by `vips tiffsave --compression jp2k` and its
// codestream tiles are copied into the same Aperio layout. sharp cannot decode these; OpenSlide can.

export async function hasVipsJp2k(vips = 'vips'): Promise<boolean> {
  const result = await runCommand(vips, ['-l', 'foreign']).catch(() => undefined);
  return result?.code === 0 && result.stdout.includes('jp2ksave') && result.stdout.includes('openslideload');
}

export async function writeJp2kSvsFrom(jpegSvs: string, path: string, vips = 'vips'): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'pathgen-jp2k-'));
  const source = await RandomAccessFile.open(jpegSvs);
  const reader = await openSlide(jpegSvs);
  const opened: RandomAccessFile[] = [source];
  try {
    const structure = await parseTiff(source);
    const pages: TiffPageSpec[] = [];
    let level = 0;
    for (const [index, directory] of structure.pages.entries()) {
      const image = readTiffImage(jpegSvs, directory);
      if (!image.tiled) {
        const page: TiffPageSpec = {
          ...pageSpecFrom(image, structure, index, (i) => source.read(image.offsets[i]!, image.byteCounts[i]!)),
          description: image.description,
        };
        // OpenSlide 4 tells Aperio's label and macro from the thumbnail by NewSubfileType.
        const subfileType = directory.tags.get(Tag.NewSubfileType);
        if (Array.isArray(subfileType) && subfileType.length === 1) page.newSubfileType = subfileType[0]!;
        pages.push(page);
        continue;
      }
      const pixels = await reader.read(level, 0, 0, image.width, image.height);
      const png = join(work, `level-${level}.png`);
      await sharp(pixels.data, { raw: { width: image.width, height: image.height, channels: 3 } })
        .png({ compressionLevel: 1 })
        .toFile(png);
      const tiff = join(work, `level-${level}.tif`);
      const size = String(image.tileWidth);
      const result = await runCommand(vips, [
        'tiffsave',
        png,
        tiff,
        '--tile',
        '--tile-width',
        size,
        '--tile-height',
        size,
        '--compression',
        'jp2k',
        '--Q',
        '90',
      ]);
      if (result.code !== 0) throw new Error(`vips tiffsave jp2k failed: ${result.stderr}`);
      const encoded = await RandomAccessFile.open(tiff);
      opened.push(encoded);
      const encodedImage = readTiffImage(tiff, (await parseTiff(encoded)).pages[0]!);
      pages.push({
        width: image.width,
        height: image.height,
        tile: { width: image.tileWidth, height: image.tileHeight },
        compression: Compression.AperioJp2kRgb,
        photometric: encodedImage.photometric,
        description: image.description,
        chunks: (async function* () {
          for (let i = 0; i < encodedImage.offsets.length; i++)
            yield await encoded.read(encodedImage.offsets[i]!, encodedImage.byteCounts[i]!);
        })(),
      });
      level++;
    }
    await writeTiff(path, pages);
  } finally {
    await reader.close();
    await Promise.all(opened.map((file) => file.close()));
    await rm(work, { recursive: true, force: true });
  }
}
