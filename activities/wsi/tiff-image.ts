import { slideUnreadable } from './slide-errors.js';
import { Tag, type TiffDirectory, type TiffTagValue } from './tiff-parser.js';

// One TIFF directory read as an image: its geometry, how its pixels are stored, and where its tiles
// (or strips, which we treat as full-width tiles) are in the file.

export const Compression = {
  None: 1,
  Lzw: 5,
  OldJpeg: 6,
  Jpeg: 7,
  Deflate: 8,
  PackBits: 32773,
  AdobeDeflate: 32946,
  AperioJp2kYcbcr: 33003,
  AperioJp2kRgb: 33005,
  Jp2k: 34712,
  Webp: 50001,
} as const;

export const Photometric = { MinIsWhite: 0, MinIsBlack: 1, Rgb: 2, Palette: 3, YCbCr: 6 } as const;

export interface TiffImage {
  page: number;
  subIfd?: number;
  width: number;
  height: number;
  tiled: boolean;
  /** Tile size; for a stripped image, the image width by RowsPerStrip. */
  tileWidth: number;
  tileHeight: number;
  tilesAcross: number;
  tilesDown: number;
  offsets: number[];
  byteCounts: number[];
  compression: number;
  photometric: number;
  samplesPerPixel: number;
  bitsPerSample: number;
  planarConfig: number;
  predictor: number;
  sampleFormat: number;
  extraSamples: number[];
  newSubfileType: number;
  description: string;
  jpegTables?: Buffer;
  xResolution?: number;
  yResolution?: number;
  resolutionUnit: number;
  /** Set on Hamamatsu NDPI files, which look like TIFF but are not read as one. */
  ndpi: boolean;
}

const first = (value: TiffTagValue | undefined): number | undefined => (Array.isArray(value) ? value[0] : undefined);

export function readTiffImage(path: string, dir: TiffDirectory): TiffImage {
  const where = dir.subIfd === undefined ? `page ${dir.page}` : `page ${dir.page} SubIFD ${dir.subIfd}`;
  const number = (tag: number, fallback?: number): number => {
    const value = first(dir.tags.get(tag)) ?? fallback;
    if (value === undefined) throw slideUnreadable(path, `${where} lacks required TIFF tag ${tag}`);
    return value;
  };
  const numbers = (tag: number): number[] | undefined => {
    const value = dir.tags.get(tag);
    return Array.isArray(value) ? value : undefined;
  };

  const width = number(Tag.ImageWidth);
  const height = number(Tag.ImageLength);
  if (width <= 0 || height <= 0) throw slideUnreadable(path, `${where} has an empty size ${width}×${height}`);
  const tiled = dir.tags.has(Tag.TileWidth) || dir.tags.has(Tag.TileOffsets);
  const tileWidth = tiled ? number(Tag.TileWidth) : width;
  const tileHeight = tiled ? number(Tag.TileLength) : Math.min(number(Tag.RowsPerStrip, height), height);
  if (tileWidth <= 0 || tileHeight <= 0) throw slideUnreadable(path, `${where} has an empty tile size`);
  const offsets = numbers(tiled ? Tag.TileOffsets : Tag.StripOffsets);
  const byteCounts = numbers(tiled ? Tag.TileByteCounts : Tag.StripByteCounts);
  if (!offsets || !byteCounts) throw slideUnreadable(path, `${where} lacks tile or strip offsets`);

  const tilesAcross = Math.ceil(width / tileWidth);
  const tilesDown = Math.ceil(height / tileHeight);
  const planarConfig = number(Tag.PlanarConfig, 1);
  const samplesPerPixel = number(Tag.SamplesPerPixel, 1);
  const expected = tilesAcross * tilesDown * (planarConfig === 2 ? samplesPerPixel : 1);
  if (offsets.length < expected || byteCounts.length < expected) {
    throw slideUnreadable(path, `${where} lists ${offsets.length} tiles, needs ${expected}`);
  }

  const description = dir.tags.get(Tag.ImageDescription);
  const jpegTables = dir.tags.get(Tag.JPEGTables);
  const image: TiffImage = {
    page: dir.page,
    width,
    height,
    tiled,
    tileWidth,
    tileHeight,
    tilesAcross,
    tilesDown,
    offsets,
    byteCounts,
    compression: number(Tag.Compression, Compression.None),
    photometric: number(Tag.Photometric, samplesPerPixel >= 3 ? Photometric.Rgb : Photometric.MinIsBlack),
    samplesPerPixel,
    bitsPerSample: number(Tag.BitsPerSample, 1),
    planarConfig,
    predictor: number(Tag.Predictor, 1),
    sampleFormat: number(Tag.SampleFormat, 1),
    extraSamples: numbers(Tag.ExtraSamples) ?? [],
    newSubfileType: number(Tag.NewSubfileType, 0),
    description: typeof description === 'string' ? description : '',
    resolutionUnit: number(Tag.ResolutionUnit, 2),
    ndpi: dir.tags.has(Tag.NdpiFormatFlag),
  };
  if (dir.subIfd !== undefined) image.subIfd = dir.subIfd;
  if (Buffer.isBuffer(jpegTables) && jpegTables.length > 0) image.jpegTables = jpegTables;
  const xResolution = first(dir.tags.get(Tag.XResolution));
  const yResolution = first(dir.tags.get(Tag.YResolution));
  if (xResolution !== undefined) image.xResolution = xResolution;
  if (yResolution !== undefined) image.yResolution = yResolution;
  return image;
}

/** Every tile must lie inside the file; a file cut short fails here, at open, not mid-run. */
export function assertTilesInsideFile(path: string, image: TiffImage, fileSize: number): void {
  for (let i = 0; i < image.offsets.length; i++) {
    const offset = image.offsets[i] ?? 0;
    const count = image.byteCounts[i] ?? 0;
    if (count > 0 && offset + count > fileSize) {
      throw slideUnreadable(
        path,
        `file is truncated: tile ${i} of page ${image.page} ends at byte ${offset + count}, file has ${fileSize}`,
        {
          page: image.page,
          tile: i,
        },
      );
    }
  }
}

/** Microns per pixel from the resolution tags, when their unit is a length (inch or centimetre). */
export function mppFromResolution(image: TiffImage): { x: number; y: number } | null {
  const micronsPerUnit = image.resolutionUnit === 2 ? 25_400 : image.resolutionUnit === 3 ? 10_000 : undefined;
  if (micronsPerUnit === undefined || !image.xResolution || !image.yResolution) return null;
  if (!(image.xResolution > 0) || !(image.yResolution > 0)) return null;
  return { x: micronsPerUnit / image.xResolution, y: micronsPerUnit / image.yResolution };
}
