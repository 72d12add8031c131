import { inflateSync } from 'node:zlib';
import sharp, { type SharpOptions } from 'sharp';
import { greyToRgb } from './jpeg-tile.js';
import { createEncodedTileDecoder, tileDecoderName, type EncodedTileFormat } from './frame-decoders.js';
import { JpegTileDecoder } from './jpeg-tile-decoder.js';
import { decodeNative, nativeCodecsMissing } from './native-codecs.js';
import { attributed, fitToTile, type RawTile, type TileDecoder } from './tile-decoding.js';
import { unsupportedFormat } from './slide-errors.js';
import { Compression, Photometric, type TiffImage } from './tiff-image.js';
import { decodePackBits, decodeTiffLzw, undoHorizontalDifferencing } from './tiff-codecs.js';

function oneByOne(decode: (tile: RawTile) => Buffer | Promise<Buffer>): TileDecoder {
  return { decode: (tiles) => Promise.all(tiles.map((tile) => attributed(tile, decode))) };
}

const compressionNames: Record<number, string> = {
  [Compression.None]: 'none',
  2: 'CCITT RLE',
  3: 'CCITT fax 3',
  4: 'CCITT fax 4',
  [Compression.Lzw]: 'LZW',
  [Compression.OldJpeg]: 'old-style JPEG',
  [Compression.Jpeg]: 'JPEG',
  [Compression.Deflate]: 'deflate',
  [Compression.PackBits]: 'PackBits',
  [Compression.AdobeDeflate]: 'deflate',
  [Compression.Webp]: 'WebP',
};

const jpeg2000Compressions = new Set<number>([
  Compression.AperioJp2kYcbcr,
  Compression.AperioJp2kRgb,
  33004,
  Compression.Jp2k,
]);

export function isJpeg2000(compression: number): boolean {
  return jpeg2000Compressions.has(compression);
}

/**
 * The components of JPEG 2000 tiles as OpenSlide reads them: Aperio 33003 is YCbCr, 33005 RGB.
 * Plain TIFF JPEG 2000 (34712) states no colour space (OpenSlide does not read it either).
 */
function jpeg2000Colour(compression: number): 'rgb' | 'ycbcr' | undefined {
  if (compression === Compression.AperioJp2kYcbcr) return 'ycbcr';
  if (compression === Compression.AperioJp2kRgb) return 'rgb';
  return undefined;
}

/** Whether this process decodes the page's tiles natively (JPEG 2000 only so). */
export function decodesNativelyWithCodecs(image: TiffImage): boolean {
  if (nativeCodecsMissing() || !image.tiled) return false;
  if (image.compression === Compression.Jpeg) return decodesNatively(image);
  return image.samplesPerPixel === 3 && jpeg2000Colour(image.compression) !== undefined;
}

/** A tile or strip is decoded whole; past this it must be tiled first. */
const maxTilePixels = 64 * 1024 * 1024;

/** Fails at open, with a message a person can act on, for pages no decoder here can read. */
export function assertDecodable(path: string, image: TiffImage): void {
  if (image.tileWidth * image.tileHeight > maxTilePixels) {
    throw unsupportedFormat(
      path,
      `page ${image.page} is stored in ${image.tileWidth}×${image.tileHeight} ${image.tiled ? 'tiles' : 'strips'}, too large to decode ` +
        'piece by piece; convert it with `vips tiffsave IN OUT.tif --tile --pyramid --compression jpeg` first',
    );
  }
  if (isJpeg2000(image.compression) && jpeg2000Colour(image.compression) && !nativeCodecsMissing()) return;
  if (isJpeg2000(image.compression)) {
    throw unsupportedFormat(
      path,
      `page ${image.page} is JPEG 2000 compressed (TIFF compression ${image.compression}), ` +
        (jpeg2000Colour(image.compression)
          ? `which needs pathgen's native decoder: ${nativeCodecsMissing()}`
          : 'whose colour space no decoder here knows'),
      {
        compression: image.compression,
      },
    );
  }
  if (compressionNames[image.compression] === undefined) {
    throw unsupportedFormat(
      path,
      `page ${image.page} uses TIFF compression ${image.compression}, which no decoder here knows`,
      {
        compression: image.compression,
      },
    );
  }
}

function decodesNatively(image: TiffImage): boolean {
  const native: number[] = [
    Compression.None,
    Compression.Lzw,
    Compression.Jpeg,
    Compression.Deflate,
    Compression.AdobeDeflate,
    Compression.PackBits,
  ];
  const jpeg = image.compression === Compression.Jpeg;
  const photometrics: number[] = jpeg
    ? [Photometric.MinIsBlack, Photometric.Rgb, Photometric.YCbCr]
    : [Photometric.MinIsWhite, Photometric.MinIsBlack, Photometric.Rgb];
  if (jpeg && image.samplesPerPixel !== 1 && image.samplesPerPixel !== 3) return false;
  return (
    native.includes(image.compression) &&
    image.bitsPerSample === 8 &&
    image.sampleFormat === 1 &&
    (image.planarConfig === 1 || image.samplesPerPixel === 1) &&
    image.samplesPerPixel >= 1 &&
    image.samplesPerPixel <= 4 &&
    (image.predictor === 1 || image.predictor === 2) &&
    photometrics.includes(image.photometric)
  );
}

/** Which decoder reads this page's tiles here, in words: for `pathgen read` and the benchmarks. */
export function tileDecoderLabel(image: TiffImage): string {
  if (decodesNativelyWithCodecs(image))
    return tileDecoderName(image.compression === Compression.Jpeg ? 'jpeg' : 'jpeg2000');
  if (!decodesNatively(image)) return 'libvips (sharp), one tile per call';
  if (image.compression === Compression.Jpeg) return 'libvips (sharp), tiles stacked per call';
  return 'pathgen (lossless codecs in TypeScript)';
}

export interface TileDecoderOptions {
  /**
   * sharp's input pixel bound for whole-page decodes: false for slide levels, which are gigapixel by
   * nature; a number for anything else. JPEG tiles are always bounded by the tile size.
   */
  limitInputPixels: number | false;
}

export function createTileDecoder(path: string, image: TiffImage, options: TileDecoderOptions): TileDecoder {
  assertDecodable(path, image);
  if (decodesNativelyWithCodecs(image)) {
    const format: EncodedTileFormat = {
      codec: image.compression === Compression.Jpeg ? 'jpeg' : 'jpeg2000',
      tileWidth: image.tileWidth,
      tileHeight: image.tileHeight,
      colour:
        image.compression === Compression.Jpeg
          ? image.photometric === Photometric.Rgb
            ? 'rgb'
            : 'ycbcr'
          : jpeg2000Colour(image.compression)!,
    };
    if (image.jpegTables) format.jpegTables = image.jpegTables;
    return createEncodedTileDecoder(path, format);
  }
  if (!decodesNatively(image)) return oneByOne(libvipsTileDecoder(path, image, options.limitInputPixels));
  if (image.compression === Compression.Jpeg) return new JpegTileDecoder(image);
  return oneByOne(losslessTileDecoder(image));
}

/**
 * This page's JPEG tiles decoded at 1/`scaleDenom` in libjpeg's DCT domain (most IDCT and chroma
 * upsampling skipped), as tiles of tileWidth/n × tileHeight/n; undefined where that is not on
 * offer: not JPEG, no native codecs, n not 2, 4 or 8, or tile sides n does not divide.
 */
export function createScaledTileDecoder(image: TiffImage, scaleDenom: number): TileDecoder | undefined {
  if (![2, 4, 8].includes(scaleDenom) || image.compression !== Compression.Jpeg || !decodesNativelyWithCodecs(image))
    return undefined;
  if (image.tileWidth % scaleDenom !== 0 || image.tileHeight % scaleDenom !== 0) return undefined;
  const batch = {
    codec: 'jpeg' as const,
    colour: image.photometric === Photometric.Rgb ? ('rgb' as const) : ('ycbcr' as const),
    width: image.tileWidth / scaleDenom,
    height: image.tileHeight / scaleDenom,
    scaleDenom,
    ...(image.jpegTables ? { tables: image.jpegTables } : {}),
  };
  return {
    decode: (tiles) => decodeNative(batch, tiles),
    decodeInto: (tiles, outs, placement) => decodeNative(batch, tiles, placement ? { outs, placement } : { outs }),
  };
}

function losslessTileDecoder(image: TiffImage): (tile: RawTile) => Buffer {
  const spp = image.samplesPerPixel;
  const rawLength = image.tileWidth * image.tileHeight * spp;
  return ({ bytes }) => {
    let raw: Buffer;
    switch (image.compression) {
      case Compression.None:
        raw = Buffer.alloc(rawLength);
        bytes.copy(raw, 0, 0, Math.min(bytes.length, rawLength));
        break;
      case Compression.Lzw:
        raw = decodeTiffLzw(bytes, rawLength);
        break;
      case Compression.PackBits:
        raw = decodePackBits(bytes, rawLength);
        break;
      default: {
        const inflated = inflateSync(bytes, { maxOutputLength: rawLength * 2 + 1024 });
        raw = Buffer.alloc(rawLength);
        inflated.copy(raw, 0, 0, Math.min(inflated.length, rawLength));
      }
    }
    if (image.predictor === 2) undoHorizontalDifferencing(raw, image.tileWidth, image.tileHeight, spp);
    return samplesToRgb(raw, image);
  };
}

/** Chunky 8-bit samples (grey, grey+alpha, RGB, RGBA) to RGB; alpha is composited over white. */
function samplesToRgb(raw: Buffer, image: TiffImage): Buffer {
  const spp = image.samplesPerPixel;
  const pixels = image.tileWidth * image.tileHeight;
  if (spp === 1) {
    const grey = image.photometric === Photometric.MinIsWhite ? raw.map((v) => 255 - v) : raw;
    return greyToRgb(Buffer.from(grey.buffer, grey.byteOffset, grey.length));
  }
  const colour = spp >= 3;
  const alphaKind = image.extraSamples[0] ?? 0; // 1 = premultiplied, 2 = straight, 0 = not alpha
  const hasAlpha = (spp === 2 || spp === 4) && alphaKind !== 0;
  const rgb = Buffer.allocUnsafe(pixels * 3);
  for (let p = 0, i = 0, o = 0; p < pixels; p++, i += spp, o += 3) {
    const alpha = hasAlpha ? (raw[i + spp - 1] ?? 255) : 255;
    for (let c = 0; c < 3; c++) {
      const value = raw[i + (colour ? c : 0)] ?? 0;
      rgb[o + c] = !hasAlpha
        ? value
        : alphaKind === 1
          ? Math.min(255, value + 255 - alpha)
          : Math.round((value * alpha + 255 * (255 - alpha)) / 255);
    }
  }
  return rgb;
}

/** Anything unusual (16-bit, palette, planar, fax, WebP, old-style JPEG...) goes through libvips. */
function libvipsTileDecoder(
  path: string,
  image: TiffImage,
  limitInputPixels: number | false,
): (tile: RawTile) => Promise<Buffer> {
  const options: SharpOptions = { page: image.page, limitInputPixels, failOn: 'warning' };
  if (image.subIfd !== undefined) options.tiff = { subifd: image.subIfd };
  return async ({ index }) => {
    const left = (index % image.tilesAcross) * image.tileWidth;
    const top = Math.floor(index / image.tilesAcross) * image.tileHeight;
    const width = Math.min(image.tileWidth, image.width - left);
    const height = Math.min(image.tileHeight, image.height - top);
    const { data, info } = await sharp(path, options)
      .extract({ left, top, width, height })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`page ${image.page} decoded to ${info.channels} channels`);
    return fitToTile(data, info.width, info.height, image.tileWidth, image.tileHeight);
  };
}
