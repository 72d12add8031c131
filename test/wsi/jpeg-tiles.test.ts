import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { JpegTileDecoder } from '../../activities/wsi/jpeg-tile-decoder.js';
import { assembleJpegTile, decodeJpegToRgb } from '../../activities/wsi/jpeg-tile.js';
import { parseSequentialJpeg, stackJpegTiles } from '../../activities/wsi/jpeg-tile-stack.js';
import { seededRandom } from '../../activities/common/seeded-random.js';
import { Compression, Photometric, type TiffImage } from '../../activities/wsi/tiff-image.js';
import { encodeAperioRgbTile } from './aperio-rgb-jpeg.js';
import { SyntheticTissue } from '../../workers/synthetic/slides/synthetic-tissue.js';

const tissue = new SyntheticTissue(4000, 3000, 5, { blobs: 6 });
const size = 64;
const rgbTiles = Array.from({ length: 7 }, (_, i) => tissue.render(1500 + i * size, 1400, size, size, 1));

function image(photometric: number, jpegTables?: Buffer): TiffImage {
  const page: TiffImage = {
    page: 0,
    width: size * 7,
    height: size,
    tiled: true,
    tileWidth: size,
    tileHeight: size,
    tilesAcross: 7,
    tilesDown: 1,
    offsets: [],
    byteCounts: [],
    compression: Compression.Jpeg,
    photometric,
    samplesPerPixel: 3,
    bitsPerSample: 8,
    planarConfig: 1,
    predictor: 1,
    sampleFormat: 1,
    extraSamples: [],
    newSubfileType: 0,
    description: '',
    resolutionUnit: 2,
    ndpi: false,
  };
  if (jpegTables) page.jpegTables = jpegTables;
  return page;
}

function meanDifference(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('Aperio RGB JPEG tiles', () => {
  it('decode as RGB, which a decoder left to guess gets wrong', async () => {
    const { tables, tile } = await encodeAperioRgbTile(rgbTiles[0]!, size, size, 90);
    const ours = await decodeJpegToRgb(assembleJpegTile(tile, tables, 'rgb'), size * size);
    expect(meanDifference(ours.data, rgbTiles[0]!)).toBeLessThan(3);
    // Spliced without the colour-space marker, libjpeg takes component ids 0,1,2 for YCbCr.
    const naive = Buffer.concat([tables.subarray(0, tables.length - 2), tile.subarray(2)]);
    const guessed = await decodeJpegToRgb(naive, size * size);
    expect(meanDifference(guessed.data, rgbTiles[0]!)).toBeGreaterThan(20);
  });
});

describe('stacked decoding', () => {
  it('gives every tile exactly the pixels of decoding it alone (Aperio RGB, and YCbCr 4:4:4)', async () => {
    const aperio = await Promise.all(rgbTiles.map((rgb) => encodeAperioRgbTile(rgb, size, size, 80)));
    const ycbcr = await Promise.all(
      rgbTiles.map((rgb) =>
        sharp(rgb, { raw: { width: size, height: size, channels: 3 } })
          .jpeg({ quality: 85, chromaSubsampling: '4:4:4', optimiseCoding: false })
          .toBuffer(),
      ),
    );
    const variants: { photometric: number; tables?: Buffer; tiles: Buffer[] }[] = [
      { photometric: Photometric.Rgb, tables: aperio[0]!.tables, tiles: aperio.map((t) => t.tile) },
      { photometric: Photometric.YCbCr, tiles: ycbcr },
    ];
    for (const { photometric, tables, tiles } of variants) {
      const space = photometric === Photometric.Rgb ? 'rgb' : 'ycbcr';
      const streams = tiles.map((tile) => assembleJpegTile(tile, tables, space));
      const parsed = streams.map((stream) => parseSequentialJpeg(stream)!);
      expect(parsed.every((p) => p !== undefined && p.signature === parsed[0]!.signature)).toBe(true);
      const stacked = await decodeJpegToRgb(stackJpegTiles(parsed), size * size * (tiles.length + 1));
      // The tiles, then a sentinel band that only makes corruption in the last tile fatal.
      expect(stacked.width).toBe(size);
      expect(stacked.height).toBeGreaterThan(size * tiles.length);
      for (const [i, stream] of streams.entries()) {
        const alone = await decodeJpegToRgb(stream, size * size);
        expect(stacked.data.subarray(i * size * size * 3, (i + 1) * size * size * 3).equals(alone.data)).toBe(true);
      }
      const decoder = new JpegTileDecoder(image(photometric, tables));
      const decoded = await decoder.decode(tiles.map((bytes, index) => ({ index, bytes })));
      for (const [i, stream] of streams.entries())
        expect(decoded[i]!.equals((await decodeJpegToRgb(stream, size * size)).data)).toBe(true);
    }
  });

  it('stacks only what decodes identically: not 4:2:0, not progressive, not truncated', async () => {
    const raw = { raw: { width: size, height: size, channels: 3 } } as const;
    const subsampled = await sharp(rgbTiles[0], raw).jpeg({ chromaSubsampling: '4:2:0' }).toBuffer();
    const progressive = await sharp(rgbTiles[0], raw)
      .jpeg({ progressive: true, chromaSubsampling: '4:4:4' })
      .toBuffer();
    const whole = await sharp(rgbTiles[0], raw).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer();
    expect(parseSequentialJpeg(subsampled)?.seamless).toBe(false);
    expect(parseSequentialJpeg(progressive)).toBeUndefined();
    expect(parseSequentialJpeg(whole.subarray(0, whole.length - 100))).toBeUndefined();
    expect(parseSequentialJpeg(whole)?.seamless).toBe(true);
  });

  for (const chromaSubsampling of ['4:4:4', '4:2:0'] as const) {
    it(`names the bad tile when one tile of a batch is corrupt (${chromaSubsampling})`, async () => {
      const tiles = await Promise.all(
        rgbTiles.map((rgb) =>
          sharp(rgb, { raw: { width: size, height: size, channels: 3 } })
            .jpeg({ chromaSubsampling, optimiseCoding: false })
            .toBuffer(),
        ),
      );
      const decoder = new JpegTileDecoder(image(Photometric.YCbCr));
      const damaged = (tile: Buffer, damage: (copy: Buffer) => Buffer): Promise<unknown> => {
        const batch: Buffer[] = [...tiles];
        batch[4] = damage(Buffer.from(tile));
        return decoder.decode(batch.map((bytes, index) => ({ index: 100 + index, bytes }))).catch((e: unknown) => e);
      };
      // Random bytes over the middle of the entropy data.
      const random = seededRandom(9);
      const garbage = (copy: Buffer) => {
        for (let i = Math.floor(copy.length * 0.4); i < Math.floor(copy.length * 0.7); i++)
          copy[i] = Math.floor(random() * 256);
        return copy;
      };
      // Entropy data cut short, the stream still closed with EOI: libjpeg only warns, late in the tile.
      const shortened = (copy: Buffer) =>
        Buffer.concat([copy.subarray(0, copy.length - 40), Buffer.from([0xff, 0xd9])]);
      for (const damage of [garbage, shortened]) expect(await damaged(tiles[4]!, damage)).toMatchObject({ index: 104 });
      expect(await decoder.decode(tiles.map((bytes, index) => ({ index, bytes })))).toHaveLength(tiles.length);
    });
  }
});
