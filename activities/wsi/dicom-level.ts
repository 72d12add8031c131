import { basename } from 'node:path';
import { createEncodedTileDecoder, tileDecoderName } from './frame-decoders.js';
import { encapsulatedFrames, locateFrames, rawRgbFrames } from './dicom-frames.js';
import type { DicomInstance } from './dicom-instance.js';
import type { RandomAccessFile } from './random-access-file.js';
import { slideUnreadable, unsupportedFormat } from './slide-errors.js';
import type { TileDecoder } from './tile-decoding.js';
import type { TileGrid } from './tiled-image-region.js';

// One instance as a tiled image: its frames placed on the tile grid (row-major for TILED_FULL,
// by PlanePositionSlideSequence for TILED_SPARSE, absent tiles with byte count 0), the decoder
// its transfer syntax and photometric interpretation call for, and how errors name a frame.

export interface DicomImage {
  grid: TileGrid;
  decoder: TileDecoder;
  /** Names a tile in errors as DICOM does: 1-based frame number, its column and row, the file. */
  describeTile: (grid: TileGrid, tile: number | undefined) => string;
  /** Which decoder reads the frames, in words (SlideReader.decoder). */
  decoderName: string;
}

const jpegBaseline = '1.2.840.10008.1.2.4.50';
const jpeg2000 = new Set(['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91']);
const explicitLittle = '1.2.840.10008.1.2.1';
const syntaxNames: Record<string, string> = {
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
  '1.2.840.10008.1.2.4.110': 'JPEG XL Lossless',
  '1.2.840.10008.1.2.4.112': 'JPEG XL',
};

/** Fails with UnsupportedFormat, naming what, for instances OpenSlide 4 also refuses (or we cannot decode). */
export function assertSupported(instance: DicomInstance): void {
  const { path, transferSyntax: syntax, photometric } = instance;
  const known = syntax === jpegBaseline || jpeg2000.has(syntax) || syntax === explicitLittle;
  if (!known) {
    const name = syntaxNames[syntax];
    throw unsupportedFormat(path, `transfer syntax ${syntax}${name ? ` (${name})` : ''} is not supported`, {
      transferSyntax: syntax,
    });
  }
  const expect = (what: string, value: number | undefined, wanted: number, optional = true): void => {
    if ((value === undefined && !optional) || (value !== undefined && value !== wanted))
      throw unsupportedFormat(path, `${what} is ${value ?? 'missing'}; only ${wanted} is supported`);
  };
  expect('SamplesPerPixel', instance.samplesPerPixel, 3, false);
  expect('BitsAllocated', instance.bitsAllocated, 8, false);
  expect('BitsStored', instance.bitsStored, 8);
  expect('HighBit', instance.highBit, 7);
  expect('PixelRepresentation', instance.pixelRepresentation, 0);
  expect('PlanarConfiguration', instance.planarConfiguration, 0);
  if (instance.focalPlanes !== 1)
    throw unsupportedFormat(
      path,
      `${instance.focalPlanes} focal planes (TotalPixelMatrixFocalPlanes); only one is supported`,
    );
  if (colour(instance) === undefined) {
    throw unsupportedFormat(
      path,
      `photometric interpretation ${photometric || 'missing'} is not supported for ${syntax}`,
    );
  }
}

/** OpenSlide 4: JPEG YBR_FULL_422 is YCbCr and RGB is RGB stored as is; JPEG 2000 decodes to RGB. */
function colour(instance: DicomInstance): 'rgb' | 'ycbcr' | undefined {
  const { transferSyntax: syntax, photometric } = instance;
  if (syntax === jpegBaseline) {
    if (photometric === 'YBR_FULL_422' || photometric === 'YBR_FULL') return 'ycbcr';
    return photometric === 'RGB' ? 'rgb' : undefined;
  }
  if (jpeg2000.has(syntax)) return ['RGB', 'YBR_ICT', 'YBR_RCT'].includes(photometric) ? 'rgb' : undefined;
  return photometric === 'RGB' ? 'rgb' : undefined;
}

export async function dicomImage(file: RandomAccessFile, instance: DicomInstance): Promise<DicomImage> {
  assertSupported(instance);
  const { width, height, tileWidth, tileHeight } = instance;
  const tilesAcross = Math.ceil(width / tileWidth);
  const tilesDown = Math.ceil(height / tileHeight);
  const frameOfTile = placeFrames(instance, tilesAcross, tilesDown);
  const spans = await locateFrames(file, instance);
  const offsets = Array.from(frameOfTile, (frame) => (frame < 0 ? 0 : spans.offsets[frame]!));
  const byteCounts = Array.from(frameOfTile, (frame) => (frame < 0 ? 0 : spans.byteCounts[frame]!));
  const grid: TileGrid = { page: 0, width, height, tileWidth, tileHeight, tilesAcross, offsets, byteCounts };

  const name = basename(instance.path);
  const describeTile = (_: TileGrid, tile: number | undefined): string =>
    tile === undefined
      ? `a frame of ${name}`
      : `frame ${frameOfTile[tile]! + 1} (column ${tile % tilesAcross}, row ${Math.floor(tile / tilesAcross)}) of ${name}`;
  const rgbOrYcbcr = colour(instance)!;
  if (instance.transferSyntax === explicitLittle)
    return { grid, decoder: rawRgbFrames, describeTile, decoderName: 'none (uncompressed)' };
  const codec = instance.transferSyntax === jpegBaseline ? 'jpeg' : 'jpeg2000';
  const decoder = encapsulatedFrames(
    createEncodedTileDecoder(instance.path, { codec, tileWidth, tileHeight, colour: rgbOrYcbcr }),
  );
  return { grid, decoder, describeTile, decoderName: tileDecoderName(codec) };
}

/** For each tile of the grid, the 0-based frame that holds it, or -1 where the instance has none. */
function placeFrames(instance: DicomInstance, tilesAcross: number, tilesDown: number): Int32Array {
  const { path, positions, frames, tileWidth, tileHeight, organization } = instance;
  const tiles = tilesAcross * tilesDown;
  const frameOfTile = new Int32Array(tiles).fill(-1);
  if (!positions) {
    if (organization !== undefined && organization !== 'TILED_FULL')
      throw slideUnreadable(path, `DimensionOrganizationType is ${organization} but no frame lists its position`);
    // TILED_FULL: row-major tiles, then focal planes, then optical paths; the first plane is ours.
    if (frames < tiles) throw slideUnreadable(path, `TILED_FULL instance has ${frames} frames for ${tiles} tiles`);
    for (let tile = 0; tile < tiles; tile++) frameOfTile[tile] = tile;
    return frameOfTile;
  }
  if (positions.length !== frames) {
    throw slideUnreadable(path, `PerFrameFunctionalGroupsSequence has ${positions.length} items for ${frames} frames`);
  }
  positions.forEach(({ column, row, opticalPath }, frame) => {
    // With several optical paths, the first one's frames (OpenSlide shows one path).
    if (
      opticalPath !== undefined &&
      instance.firstOpticalPath !== undefined &&
      opticalPath !== instance.firstOpticalPath
    )
      return;
    if ((column - 1) % tileWidth !== 0 || (row - 1) % tileHeight !== 0) {
      throw unsupportedFormat(
        path,
        `frame ${frame + 1} is at column ${column}, row ${row}, off the ${tileWidth}×${tileHeight} tile grid`,
      );
    }
    const tileColumn = (column - 1) / tileWidth;
    const tileRow = (row - 1) / tileHeight;
    if (tileColumn < 0 || tileRow < 0 || tileColumn >= tilesAcross || tileRow >= tilesDown) return;
    const tile = tileRow * tilesAcross + tileColumn;
    if (frameOfTile[tile]! < 0) frameOfTile[tile] = frame;
  });
  return frameOfTile;
}
