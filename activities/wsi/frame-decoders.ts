import { JpegTileDecoder } from './jpeg-tile-decoder.js';
import { decodeNative, nativeCodecsMissing } from './native-codecs.js';
import { unsupportedFormat } from './slide-errors.js';
import type { TileDecoder } from './tile-decoding.js';
import { Compression, Photometric, type TiffImage } from './tiff-image.js';

// Decoders for tiles that are whole compressed images of their own (JPEG or JPEG 2000), wherever
// they are stored: TIFF tiles or DICOM frames. The container decides the format; this decides how.

export interface EncodedTileFormat {
  codec: 'jpeg' | 'jpeg2000';
  tileWidth: number;
  tileHeight: number;
  /**
   * The colour space of the three components as the container states it. JPEG: `ycbcr`, or `rgb`
   * for components stored without a colour transform (Aperio's trap). JPEG 2000: `rgb` when the
   * decoded components are R, G, B (the codestream's own transform, if any, is undone by the
   * decoder), `ycbcr` when they are Y, Cb, Cr to be converted as OpenSlide does (Aperio 33003).
   */
  colour: 'rgb' | 'ycbcr';
  /** Abbreviated JPEG streams: the shared tables (TIFF JPEGTables). */
  jpegTables?: Buffer;
}

/** Which decoder reads tiles of this format in this process: for `pathgen read` and the benchmarks. */
export function tileDecoderName(codec: EncodedTileFormat['codec']): string {
  if (!nativeCodecsMissing()) return codec === 'jpeg' ? 'libjpeg-turbo (native)' : 'OpenJPEG (native)';
  return codec === 'jpeg' ? 'libvips (sharp)' : 'none';
}

export function createEncodedTileDecoder(path: string, format: EncodedTileFormat): TileDecoder {
  const missing = nativeCodecsMissing();
  if (!missing) {
    const batch = {
      codec: format.codec,
      colour: format.colour,
      width: format.tileWidth,
      height: format.tileHeight,
      ...(format.jpegTables ? { tables: format.jpegTables } : {}),
    };
    return {
      decode: (tiles) => decodeNative(batch, tiles),
      decodeInto: (tiles, outs, placement) => decodeNative(batch, tiles, placement ? { outs, placement } : { outs }),
    };
  }
  if (format.codec === 'jpeg2000')
    throw unsupportedFormat(path, `JPEG 2000 tiles need pathgen's native decoder: ${missing}`);
  // Without the native codecs, JPEG goes through libvips: exact too, several times slower.
  const image: TiffImage = {
    page: 0,
    width: format.tileWidth,
    height: format.tileHeight,
    tiled: true,
    tileWidth: format.tileWidth,
    tileHeight: format.tileHeight,
    tilesAcross: 1,
    tilesDown: 1,
    offsets: [],
    byteCounts: [],
    compression: Compression.Jpeg,
    photometric: format.colour === 'rgb' ? Photometric.Rgb : Photometric.YCbCr,
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
  if (format.jpegTables) image.jpegTables = format.jpegTables;
  return new JpegTileDecoder(image);
}
