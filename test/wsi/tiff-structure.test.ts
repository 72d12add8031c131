import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSlideError } from '../../activities/wsi/slide-errors.js';
import { decodePackBits, decodeTiffLzw, undoHorizontalDifferencing } from '../../activities/wsi/tiff-codecs.js';
import { Compression, mppFromResolution, Photometric, readTiffImage } from '../../activities/wsi/tiff-image.js';
import { looksLikeTiff, parseTiff, Tag } from '../../activities/wsi/tiff-parser.js';
import { writeTiff, type TiffPageSpec } from '../../activities/wsi/tiff-writer.js';
import { bufferSource } from '../../workers/synthetic/slides/synthetic-slides.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-tiff-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function page(width: number, height: number, extra: Partial<TiffPageSpec> = {}): TiffPageSpec {
  const tiles = Math.ceil(width / 16) * Math.ceil(height / 16);
  return {
    width,
    height,
    tile: { width: 16, height: 16 },
    compression: Compression.None,
    photometric: Photometric.Rgb,
    chunks: Array.from({ length: tiles }, (_, i) => Buffer.alloc(16 * 16 * 3, i % 256)),
    ...extra,
  };
}

describe('TIFF parser and writer', () => {
  for (const bigTiff of [false, true]) {
    it(`round-trips pages, SubIFDs and tags (${bigTiff ? 'BigTIFF' : 'classic TIFF'})`, async () => {
      const path = join(dir, `roundtrip-${bigTiff}.tif`);
      const tables = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
      await writeTiff(
        path,
        [
          page(40, 30, {
            description: 'level zero',
            resolution: { x: 40_000, y: 20_000, unit: 3 },
            subIfds: [page(20, 15, { newSubfileType: 1 }), page(10, 8, { newSubfileType: 1 })],
          }),
          page(33, 17, { newSubfileType: 1, jpegTables: tables, predictor: 2 }),
          {
            width: 50,
            height: 20,
            rowsPerStrip: 8,
            compression: Compression.None,
            photometric: Photometric.MinIsBlack,
            samplesPerPixel: 1,
            chunks: [Buffer.alloc(400), Buffer.alloc(400), Buffer.alloc(200)],
          },
        ],
        { bigTiff },
      );
      const bytes = await readFile(path);
      const structure = await parseTiff(bufferSource(bytes));
      expect(structure.bigTiff).toBe(bigTiff);
      expect(structure.pages).toHaveLength(3);
      expect(structure.pages[0]!.subIfds.map((d) => [d.page, d.subIfd])).toEqual([
        [0, 0],
        [0, 1],
      ]);

      const level0 = readTiffImage(path, structure.pages[0]!);
      expect(level0).toMatchObject({
        width: 40,
        height: 30,
        tiled: true,
        tileWidth: 16,
        tilesAcross: 3,
        tilesDown: 2,
        description: 'level zero',
      });
      expect(mppFromResolution(level0)).toEqual({ x: 0.25, y: 0.5 });
      const sub = readTiffImage(path, structure.pages[0]!.subIfds[1]!);
      expect(sub).toMatchObject({ width: 10, height: 8, page: 0, subIfd: 1, newSubfileType: 1 });
      const second = readTiffImage(path, structure.pages[1]!);
      expect(second.jpegTables).toEqual(tables);
      expect(second.predictor).toBe(2);
      const stripped = readTiffImage(path, structure.pages[2]!);
      expect(stripped).toMatchObject({ tiled: false, tileWidth: 50, tileHeight: 8, tilesDown: 3, samplesPerPixel: 1 });
      expect(stripped.byteCounts).toEqual([400, 400, 200]);
      // Tile data sits where the offsets say.
      expect(bytes.subarray(level0.offsets[4], level0.offsets[4]! + 3)).toEqual(Buffer.from([4, 4, 4]));
    });
  }

  it('reads big-endian TIFFs as libvips writes them on request', async () => {
    const tiff = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#336699' } })
      .tiff({ compression: 'lzw' })
      .toBuffer();
    expect(looksLikeTiff(tiff)).toBe(true);
    const image = readTiffImage('memory', (await parseTiff(bufferSource(tiff))).pages[0]!);
    expect(image).toMatchObject({ width: 20, height: 10, compression: Compression.Lzw, photometric: Photometric.Rgb });
  });

  it('rejects what is not a TIFF, and structural damage, as SlideUnreadable', async () => {
    const text = Buffer.from('just some text, certainly not a tiff');
    await expect(parseTiff(bufferSource(text))).rejects.toSatisfy((e) => isSlideError(e, 'SlideUnreadable'));
    await expect(parseTiff(bufferSource(Buffer.from('II*\0')))).rejects.toSatisfy((e) =>
      isSlideError(e, 'SlideUnreadable'),
    );

    // First IFD pointing past the end of the file.
    const pastEnd = Buffer.from([0x49, 0x49, 42, 0, 0xff, 0xff, 0, 0]);
    await expect(parseTiff(bufferSource(pastEnd))).rejects.toSatisfy((e) => isSlideError(e, 'SlideUnreadable'));

    // An IFD whose next pointer loops back to itself.
    const path = join(dir, 'loop.tif');
    await writeTiff(path, [page(16, 16)]);
    const looped = await readFile(path);
    const first = looped.readUInt32LE(4);
    const entries = looped.readUInt16LE(first);
    looped.writeUInt32LE(first, first + 2 + entries * 12);
    await writeFile(path, looped);
    await expect(parseTiff(bufferSource(looped))).rejects.toThrow(/loops back/);
  });

  it('fails on a page that lacks required tags', async () => {
    const path = join(dir, 'no-offsets.tif');
    await writeTiff(path, [page(16, 16)]);
    const structure = await parseTiff(bufferSource(await readFile(path)));
    structure.pages[0]!.tags.delete(Tag.TileOffsets);
    structure.pages[0]!.tags.delete(Tag.TileWidth);
    structure.pages[0]!.tags.delete(Tag.StripOffsets);
    expect(() => readTiffImage(path, structure.pages[0]!)).toThrow(/offsets/);
  });
});

describe('lossless TIFF codecs', () => {
  it('decodes LZW with the horizontal predictor as libtiff writes it', async () => {
    const width = 37;
    const height = 23;
    const raw = Buffer.alloc(width * height * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + (i % 11) * 13) % 256;
    const tiff = await sharp(raw, { raw: { width, height, channels: 3 } })
      .tiff({ compression: 'lzw', predictor: 'horizontal' })
      .toBuffer();
    const image = readTiffImage('memory', (await parseTiff(bufferSource(tiff))).pages[0]!);
    expect(image.predictor).toBe(2);
    const decoded = Buffer.concat(
      image.offsets.map((offset, strip) => {
        const rows = Math.min(image.tileHeight, height - strip * image.tileHeight);
        const out = decodeTiffLzw(tiff.subarray(offset, offset + image.byteCounts[strip]!), width * rows * 3);
        undoHorizontalDifferencing(out, width, rows, 3);
        return out;
      }),
    );
    expect(decoded.equals(raw)).toBe(true);
  });

  it('rejects LZW codes that were never defined', () => {
    // 9-bit code 300 right after a clear code: nothing defines it.
    const bits = (256).toString(2).padStart(9, '0') + (300).toString(2).padStart(9, '0');
    const bytes = Buffer.from(
      bits
        .padEnd(24, '0')
        .match(/.{8}/g)!
        .map((b) => parseInt(b, 2)),
    );
    expect(() => decodeTiffLzw(bytes, 16)).toThrow(/corrupt LZW/);
  });

  it('decodes PackBits (the example of the TIFF 6.0 specification)', () => {
    const packed = Buffer.from('FE AA 02 80 00 2A FD AA 03 80 00 2A 22 F7 AA'.split(' ').map((h) => parseInt(h, 16)));
    const expected = Buffer.from(
      'AA AA AA 80 00 2A AA AA AA AA 80 00 2A 22 AA AA AA AA AA AA AA AA AA AA'.split(' ').map((h) => parseInt(h, 16)),
    );
    expect(decodePackBits(packed, expected.length)).toEqual(expected);
  });
});
