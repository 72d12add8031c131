import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { convertedSlideMarker, type ConvertedSlideInfo } from './converted-slide-layout.js';
import { RandomAccessFile } from './random-access-file.js';
import { CommandNotFound, runCommand } from './run-command.js';
import { slideUnreadable, unsupportedFormat } from './slide-errors.js';
import type { RgbImage } from './slide-reader.js';
import { Compression, Photometric, readTiffImage } from './tiff-image.js';
import { parseTiff, Tag } from './tiff-parser.js';
import { writeTiff, type TiffPageSpec } from './tiff-writer.js';

// Formats sharp cannot decode (JPEG 2000 SVS, NDPI, MRXS, SCN, ...) are read once through OpenSlide
// by the `vips` command, level by level, and written as a JPEG-tiled TIFF with the same levels,
// resolution and associated images. The copy is cached under the source's content hash, so a slide
// is converted once however many activities open it.

export const installHint =
  'install libvips-tools (apt-get install libvips-tools, which links OpenSlide) or run infra/install-tools.sh';

export interface ConversionOptions {
  cacheDir: string;
  vipsCommand: string;
  /** Why the slide needs converting, for the message when it cannot be. */
  reason?: string;
  signal?: AbortSignal;
  /** JPEG quality of the converted tiles (default 98: libvips then writes RGB without chroma subsampling, and the copy adds little loss). */
  jpegQuality?: number;
  /** Associated images read by our own decoder, for TIFF sources where that works. */
  associatedFromSource?: Map<string, () => Promise<RgbImage>>;
}

const openSlideSupport = new Map<string, Promise<boolean>>();

/** Fails with UnsupportedFormat unless `vips` exists and was built with OpenSlide. */
export async function assertVipsCanConvert(path: string, vipsCommand: string, reason: string): Promise<void> {
  let supported = openSlideSupport.get(vipsCommand);
  if (!supported) {
    supported = runCommand(vipsCommand, ['-l', 'foreign']).then(
      (result) => result.code === 0 && result.stdout.includes('openslideload'),
      (error: unknown) => {
        if (error instanceof CommandNotFound) return false;
        throw error;
      },
    );
    openSlideSupport.set(vipsCommand, supported);
  }
  if (!(await supported)) {
    throw unsupportedFormat(
      path,
      `${reason}; converting it needs the vips command with OpenSlide support: ${installHint}`,
      { vipsCommand },
    );
  }
}

/** SHA-256 of the slide's bytes; for MIRAX, of the index file and its data folder. */
export async function hashSlideSource(path: string): Promise<string> {
  const hash = createHash('sha256');
  const add = async (file: string): Promise<void> => {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  };
  await add(path);
  if (extname(path).toLowerCase() === '.mrxs') {
    const companion = join(dirname(path), basename(path, extname(path)));
    const names = await readdir(companion).catch(() => [] as string[]);
    for (const name of names.sort()) {
      hash.update(`\0${name}\0`);
      await add(join(companion, name));
    }
  }
  return hash.digest('hex');
}

export async function convertWithVips(path: string, options: ConversionOptions): Promise<string> {
  await assertVipsCanConvert(path, options.vipsCommand, `it is ${options.reason ?? 'in a format sharp cannot decode'}`);
  const sha256 = await hashSlideSource(path);
  const target = join(options.cacheDir, `${sha256}.tiff`);
  if (await exists(target)) return target;

  await mkdir(options.cacheDir, { recursive: true });
  const work = await mkdtemp(join(options.cacheDir, `.converting-${sha256.slice(0, 12)}-`));
  try {
    const properties = await openSlideProperties(path, options);
    const levelCount = Number(properties.get('openslide.level-count'));
    if (!Number.isInteger(levelCount) || levelCount < 1) throw slideUnreadable(path, 'OpenSlide reports no levels');
    const mppX = Number(properties.get('openslide.mpp-x'));
    const mppY = Number(properties.get('openslide.mpp-y'));
    const objective = Number(properties.get('openslide.objective-power'));
    const info: ConvertedSlideInfo = {
      version: 1,
      source: { path, sha256 },
      vendor: properties.get('openslide.vendor') ?? 'unknown',
      mpp: mppX > 0 && mppY > 0 ? { x: mppX, y: mppY } : null,
      objectivePower: objective > 0 ? objective : null,
      downsamples: [],
      associated: [],
    };

    const pages: TiffPageSpec[] = [];
    const opened: RandomAccessFile[] = [];
    try {
      for (let level = 0; level < levelCount; level++) {
        const file = join(work, `level-${level}.tif`);
        const quality = options.jpegQuality ?? 98;
        await vips(path, options, [
          'flatten',
          `${path}[level=${level}]`,
          `${file}[tile,tile-width=256,tile-height=256,compression=jpeg,Q=${quality},bigtiff]`,
          '--background',
          '255 255 255',
        ]);
        const source = await RandomAccessFile.open(file);
        opened.push(source);
        const structure = await parseTiff(source);
        const image = readTiffImage(file, structure.pages[0]!);
        const downsample = Number(properties.get(`openslide.level[${level}].downsample`));
        info.downsamples.push(level === 0 ? 1 : downsample);
        const subsampling = structure.pages[0]!.tags.get(Tag.YCbCrSubSampling);
        const page: TiffPageSpec = {
          width: image.width,
          height: image.height,
          tile: { width: image.tileWidth, height: image.tileHeight },
          compression: image.compression,
          photometric: image.photometric,
          newSubfileType: level === 0 ? 0 : 1,
          chunks: copyTiles(source, image.offsets, image.byteCounts),
        };
        if (image.jpegTables) page.jpegTables = image.jpegTables;
        if (Array.isArray(subsampling) && subsampling.length === 2)
          page.ycbcrSubsampling = [subsampling[0]!, subsampling[1]!];
        if (info.mpp)
          page.resolution = {
            x: 10_000 / (info.mpp.x * info.downsamples[level]!),
            y: 10_000 / (info.mpp.y * info.downsamples[level]!),
            unit: 3,
          };
        pages.push(page);
      }
      const names = (properties.get('slide-associated-images') ?? '')
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      for (const name of new Set([...names, ...(options.associatedFromSource?.keys() ?? [])])) {
        const image = await associatedImage(path, name, work, options);
        if (!image) continue;
        info.associated.push({ name, page: pages.length });
        pages.push({
          width: image.width,
          height: image.height,
          compression: Compression.Deflate,
          photometric: Photometric.Rgb,
          chunks: [deflateSync(image.data)],
        });
      }
      pages[0]!.description = `${convertedSlideMarker}\n${JSON.stringify(info)}`;
      const partial = join(work, 'converted.tiff');
      await writeTiff(partial, pages, { bigTiff: true });
      await rename(partial, target);
    } finally {
      await Promise.all(opened.map((file) => file.close()));
    }
    return target;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function* copyTiles(source: RandomAccessFile, offsets: number[], counts: number[]): AsyncGenerator<Buffer> {
  for (let i = 0; i < counts.length; i++)
    yield counts[i] ? await source.read(offsets[i]!, counts[i]!) : Buffer.alloc(0);
}

async function vips(path: string, options: ConversionOptions, args: string[]): Promise<void> {
  const result = await runCommand(options.vipsCommand, args, options.signal ? { signal: options.signal } : {});
  if (result.code !== 0) {
    const why = result.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${result.code ?? result.signal}`;
    throw slideUnreadable(path, `vips ${args[0]} failed: ${why}`);
  }
}

async function openSlideProperties(path: string, options: ConversionOptions): Promise<Map<string, string>> {
  const header = join(dirname(options.vipsCommand), 'vipsheader');
  const command = options.vipsCommand.includes('/') ? header : 'vipsheader';
  const result = await runCommand(command, ['-a', path], options.signal ? { signal: options.signal } : {});
  if (result.code !== 0 || !result.stdout.includes('openslideload')) {
    throw slideUnreadable(
      path,
      `OpenSlide cannot open it: ${result.stderr.trim().split('\n').pop() ?? 'unknown error'}`,
    );
  }
  const properties = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const colon = line.indexOf(': ');
    if (colon > 0) properties.set(line.slice(0, colon).trim(), line.slice(colon + 2).trim());
  }
  return properties;
}

/** An associated image, or undefined when it cannot be read: they are a convenience, not data. */
async function associatedImage(
  path: string,
  name: string,
  work: string,
  options: ConversionOptions,
): Promise<RgbImage | undefined> {
  const own = options.associatedFromSource?.get(name);
  if (own) return own().catch(() => undefined);
  const file = join(work, `associated-${name.replace(/[^\w-]/g, '_')}.png`);
  // Debian's vips 8.14 with OpenSlide 3.4 can crash on associated images; a crash just skips it.
  const result = await runCommand(options.vipsCommand, ['openslideload', path, file, '--associated', name]).catch(
    () => undefined,
  );
  if (!result || result.code !== 0 || !(await exists(file))) return undefined;
  return sharp(file, { limitInputPixels: 100_000_000 })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true })
    .then(({ data, info }) => ({ data, width: info.width, height: info.height }))
    .catch(() => undefined);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}
