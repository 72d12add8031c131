import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { RandomAccessFile } from '../../activities/wsi/random-access-file.js';
import { runCommand } from '../../activities/wsi/run-command.js';
import { Photometric, readTiffImage } from '../../activities/wsi/tiff-image.js';
import { parseTiff } from '../../activities/wsi/tiff-parser.js';
import { writeTiff, type TiffPageSpec } from '../../activities/wsi/tiff-writer.js';
import { pageSpecFrom } from '../../workers/synthetic/slides/synthetic-slides.js';

// An Aperio SVS with YCbCr 4:2:2 JPEG tiles (chroma halved horizontally only), which neither sharp
// nor libvips' jpegsave writes: each level of a source SVS is decoded by our reader and re-encoded
// tile by tile with PIL (Debian's python3-pil, libjpeg-turbo, subsampling=1), tables inside each tile.

const encodeScript = `
import io, struct, sys
from PIL import Image
source, target = sys.argv[1], sys.argv[2]
data = open(source, 'rb').read()
count, width, height = struct.unpack('<III', data[:12])
size = width * height * 3
with open(target, 'wb') as out:
    for i in range(count):
        tile = Image.frombytes('RGB', (width, height), data[12 + i * size:12 + (i + 1) * size])
        buffer = io.BytesIO()
        tile.save(buffer, 'JPEG', quality=85, subsampling=1)
        out.write(struct.pack('<I', buffer.tell()))
        out.write(buffer.getvalue())
`;

async function encode422(tiles: Buffer[], width: number, height: number, work: string): Promise<Buffer[]> {
  const input = join(work, 'tiles.rgb');
  const output = join(work, 'tiles.jpg');
  const header = Buffer.alloc(12);
  header.writeUInt32LE(tiles.length, 0);
  header.writeUInt32LE(width, 4);
  header.writeUInt32LE(height, 8);
  await writeFile(input, Buffer.concat([header, ...tiles]));
  const result = await runCommand('/usr/bin/python3', ['-c', encodeScript, input, output]);
  if (result.code !== 0) throw new Error(`PIL 4:2:2 encoding failed: ${result.stderr}`);
  const bytes = await readFile(output);
  const jpegs: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const length = bytes.readUInt32LE(at);
    jpegs.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return jpegs;
}

export async function writeJpeg422SvsFrom(sourceSvs: string, path: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'pathgen-422-'));
  const file = await RandomAccessFile.open(sourceSvs);
  const reader = await openSlide(sourceSvs);
  try {
    const structure = await parseTiff(file);
    const pages: TiffPageSpec[] = [];
    let level = 0;
    for (const [index, directory] of structure.pages.entries()) {
      const image = readTiffImage(sourceSvs, directory);
      const copy = pageSpecFrom(image, structure, index, (i) => file.read(image.offsets[i]!, image.byteCounts[i]!));
      copy.description = image.description;
      if (image.newSubfileType) copy.newSubfileType = image.newSubfileType;
      if (!image.tiled) {
        pages.push(copy);
        continue;
      }
      const { tileWidth, tileHeight, tilesAcross, tilesDown } = image;
      const tiles: Buffer[] = [];
      for (let row = 0; row < tilesDown; row++)
        for (let col = 0; col < tilesAcross; col++) {
          const x = col * tileWidth * reader.levels[level]!.downsample;
          const y = row * tileHeight * reader.levels[level]!.downsample;
          tiles.push((await reader.read(level, Math.round(x), Math.round(y), tileWidth, tileHeight)).data);
        }
      const jpegs = await encode422(tiles, tileWidth, tileHeight, work);
      const page: TiffPageSpec = { ...copy, photometric: Photometric.YCbCr, ycbcrSubsampling: [2, 1], chunks: jpegs };
      delete page.jpegTables;
      pages.push(page);
      level++;
    }
    await writeTiff(path, pages);
  } finally {
    await reader.close();
    await file.close();
    await rm(work, { recursive: true, force: true });
  }
}
