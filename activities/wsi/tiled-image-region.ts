import { composeTiles } from './native-codecs.js';
import type { RandomAccessFile } from './random-access-file.js';
import { slideUnreadable, isSlideError } from './slide-errors.js';
import type { TileCache, TileHold } from './tile-cache.js';
import { TileDecodeFailure, type RawTile, type TileDecoder, type TilePlacement } from './tile-decoding.js';
import type { TiffImage } from './tiff-image.js';

export interface RgbImage {
  /** Packed RGB, 3 bytes per pixel, row-major. */
  data: Buffer;
  width: number;
  height: number;
}

/**
 * What a region read needs of an image stored in tiles: its size, tile size and where each tile's
 * bytes are in the file (byte count 0 = a tile the file lacks). A TIFF page is one; so is a DICOM
 * level, whose frames are its tiles.
 */
export type TileGrid = Pick<
  TiffImage,
  'page' | 'subIfd' | 'width' | 'height' | 'tileWidth' | 'tileHeight' | 'tilesAcross' | 'offsets' | 'byteCounts'
>;

/**
 * The grid of `image` decoded at 1/`scaleDenom` (tile sides divisible by it): same tiles and bytes,
 * each tile tileWidth/n × tileHeight/n; the image's sides round up, as libjpeg rounds a scaled
 * output, so the last row and column of tiles clip where the scaled image ends.
 */
export function scaledTileGrid(image: TileGrid, scaleDenom: number): TileGrid {
  return {
    page: image.page,
    ...(image.subIfd !== undefined ? { subIfd: image.subIfd } : {}),
    width: Math.ceil(image.width / scaleDenom),
    height: Math.ceil(image.height / scaleDenom),
    tileWidth: image.tileWidth / scaleDenom,
    tileHeight: image.tileHeight / scaleDenom,
    tilesAcross: image.tilesAcross,
    offsets: image.offsets,
    byteCounts: image.byteCounts,
  };
}

export interface RegionRead extends RgbImage {
  /** Pixels with no image data, painted white: outside the image, or in a tile the file lacks. */
  outsidePixels: number;
}

/**
 * Region reads from one tiled (or stripped) TIFF image: decodes only the tiles the region touches,
 * through a shared cache, and paints everything outside the image white. Coordinates are this
 * image's own pixels and may lie partly or wholly outside it.
 */
export class TiledImageRegion {
  constructor(
    private readonly file: RandomAccessFile,
    readonly image: TileGrid,
    private readonly decoder: TileDecoder,
    private readonly cache: TileCache,
    private readonly cacheKey: string,
    /** How errors name a tile: "tile N of page P" for TIFF; a DICOM level names its frame. */
    private readonly describeTile: (image: TileGrid, tile: number | undefined) => string = tiffTileName,
  ) {}

  async read(x: number, y: number, width: number, height: number): Promise<RegionRead> {
    const { image } = this;
    const left = Math.max(x, 0);
    const top = Math.max(y, 0);
    const right = Math.min(x + width, image.width);
    const bottom = Math.min(y + height, image.height);
    let outsidePixels = width * height;
    if (right <= left || bottom <= top)
      return { data: Buffer.alloc(width * height * 3, 255), width, height, outsidePixels };
    outsidePixels -= (right - left) * (bottom - top);

    const firstCol = Math.floor(left / image.tileWidth);
    const lastCol = Math.floor((right - 1) / image.tileWidth);
    const firstRow = Math.floor(top / image.tileHeight);
    const lastRow = Math.floor((bottom - 1) / image.tileHeight);
    const needed: number[] = [];
    let missingPixels = 0;
    for (let row = firstRow; row <= lastRow; row++) {
      for (let col = firstCol; col <= lastCol; col++) {
        const index = row * image.tilesAcross + col;
        if ((image.byteCounts[index] ?? 0) > 0) {
          needed.push(index);
          continue;
        }
        // Some scanners leave tiles empty; OpenSlide shows them transparent, we count them.
        const tileLeft = col * image.tileWidth;
        const tileTop = row * image.tileHeight;
        missingPixels +=
          (Math.min(right, tileLeft + image.tileWidth) - Math.max(left, tileLeft)) *
          (Math.min(bottom, tileTop + image.tileHeight) - Math.max(top, tileTop));
      }
    }

    // Every pixel is overwritten when the region lies wholly on decoded tiles; otherwise white shows.
    const data =
      outsidePixels + missingPixels === 0
        ? Buffer.allocUnsafe(width * height * 3)
        : Buffer.alloc(width * height * 3, 255);
    const origins = new Int32Array(needed.length * 2);
    needed.forEach((index, i) => {
      origins[2 * i] = (index % image.tilesAcross) * image.tileWidth - x;
      origins[2 * i + 1] = Math.floor(index / image.tilesAcross) * image.tileHeight - y;
    });
    const region = { data, width, height, clipRight: right - x, clipBottom: bottom - y, origins };
    const holds = this.cache.hold(
      needed.map((index) => `${this.cacheKey}:${index}`),
      image.tileWidth * image.tileHeight * 3,
    );
    try {
      const placed = await this.load(needed, holds, region);
      // Others' decodes this read shares; then what is not in place yet (cached tiles) is copied.
      await Promise.all(holds.flatMap((hold) => (hold.ready ? [hold.ready] : [])));
      const rest = needed.flatMap((_, i) => (placed[i] ? [] : [i]));
      if (rest.length > 0)
        this.compose(
          region,
          rest,
          holds.map((hold) => hold.buffer),
        );
    } finally {
      this.cache.release(holds);
    }
    return { data, width, height, outsidePixels: outsidePixels + missingPixels };
  }

  /** Copies the tiles at positions `which` of `needed` into the region. */
  private compose(region: PlacedRegion, which: number[], tiles: Buffer[]): void {
    const { image } = this;
    const { data, width, clipRight, clipBottom } = region;
    const origins = new Int32Array(which.length * 2);
    which.forEach((i, n) => {
      origins[2 * n] = region.origins[2 * i]!;
      origins[2 * n + 1] = region.origins[2 * i + 1]!;
    });
    const chosen = which.map((i) => tiles[i]!);
    if (
      composeTiles(
        data,
        width,
        region.height,
        chosen,
        image.tileWidth,
        image.tileHeight,
        origins,
        clipRight,
        clipBottom,
      )
    )
      return;
    chosen.forEach((tile, n) => {
      const tileLeft = origins[2 * n]!;
      const tileTop = origins[2 * n + 1]!;
      const fromX = Math.max(0, tileLeft);
      const toX = Math.min(clipRight, tileLeft + image.tileWidth);
      const toY = Math.min(clipBottom, tileTop + image.tileHeight);
      const rowBytes = (toX - fromX) * 3;
      for (let sy = Math.max(0, tileTop); sy < toY; sy++) {
        const source = ((sy - tileTop) * image.tileWidth + (fromX - tileLeft)) * 3;
        tile.copy(data, (sy * width + fromX) * 3, source, source + rowBytes);
      }
    });
  }

  /**
   * Decodes, in one batch, the tiles this read must load into their cache slots (and into the
   * region as they decode, where the decoder can); which positions are in the region already.
   */
  private async load(needed: number[], holds: TileHold[], region: PlacedRegion): Promise<boolean[]> {
    const placed = needed.map(() => false);
    const mine = holds.flatMap((hold, i) => (hold.mustLoad ? [i] : []));
    if (mine.length === 0) return placed;
    let placement: TilePlacement | undefined;
    if (this.decoder.decodeInto) {
      const origins = new Int32Array(mine.length * 2);
      mine.forEach((i, n) => {
        origins[2 * n] = region.origins[2 * i]!;
        origins[2 * n + 1] = region.origins[2 * i + 1]!;
      });
      const { data, width, height, clipRight, clipBottom } = region;
      placement = { region: data, width, height, clipRight, clipBottom, origins };
    }
    try {
      await this.decodeTiles(
        mine.map((i) => needed[i]!),
        mine.map((i) => holds[i]!.buffer),
        placement,
      );
    } catch (error) {
      for (const i of mine) this.cache.failed(holds[i]!, error);
      throw error;
    }
    for (const i of mine) {
      this.cache.loaded(holds[i]!);
      if (placement) placed[i] = true;
    }
    return placed;
  }

  /** Decodes tiles into `outs` (their cache slots). */
  private async decodeTiles(indices: number[], outs: Buffer[], placement?: TilePlacement): Promise<void> {
    const { image } = this;
    const raw = await this.readRaw(indices);
    let decoded: Buffer[];
    try {
      decoded = this.decoder.decodeInto
        ? await this.decoder.decodeInto(raw, outs, placement)
        : await this.decoder.decode(raw);
    } catch (error) {
      if (isSlideError(error)) throw error;
      const index = error instanceof TileDecodeFailure ? error.index : undefined;
      const where = this.describeTile(image, index);
      throw slideUnreadable(
        this.file.path,
        `${where} failed to decode: ${error instanceof Error ? error.message : String(error)}`,
        {
          page: image.page,
          tile: index,
        },
        error,
      );
    }
    const expected = image.tileWidth * image.tileHeight * 3;
    decoded.forEach((tile, i) => {
      if (tile.length !== expected)
        throw slideUnreadable(
          this.file.path,
          `${this.describeTile(image, indices[i])} decoded to ${tile.length} bytes, expected ${expected}`,
        );
      // Decoders without decodeInto (libvips, lossless) hand back their own buffers.
      if (tile !== outs[i]) tile.copy(outs[i]!);
    });
  }

  /** Tile bytes, with neighbours in the file read together: tiles of a row usually sit side by side. */
  private async readRaw(indices: number[]): Promise<RawTile[]> {
    const { image } = this;
    const byOffset = [...indices].sort((a, b) => image.offsets[a]! - image.offsets[b]!);
    const ranges: { from: number; to: number; members: number[] }[] = [];
    for (const index of byOffset) {
      const from = image.offsets[index]!;
      const to = from + image.byteCounts[index]!;
      const last = ranges[ranges.length - 1];
      if (last && from - last.to <= maxGap && Math.max(last.to, to) - last.from <= maxRead) {
        last.to = Math.max(last.to, to);
        last.members.push(index);
      } else {
        ranges.push({ from, to, members: [index] });
      }
    }
    const bytes = new Map<number, Buffer>();
    await Promise.all(
      ranges.map(async ({ from, to, members }) => {
        const block = await this.file.read(from, to - from);
        for (const index of members) {
          const offset = image.offsets[index]! - from;
          bytes.set(index, block.subarray(offset, offset + image.byteCounts[index]!));
        }
      }),
    );
    return indices.map((index) => ({ index, bytes: bytes.get(index)! }));
  }
}

function tiffTileName(image: TileGrid, tile: number | undefined): string {
  return `${tile === undefined ? 'a tile' : `tile ${tile}`} of page ${image.page}${image.subIfd === undefined ? '' : ` SubIFD ${image.subIfd}`}`;
}

/** A region being read: its pixels, where the image ends in it, and each needed tile's corner. */
interface PlacedRegion {
  data: Buffer;
  width: number;
  height: number;
  clipRight: number;
  clipBottom: number;
  origins: Int32Array;
}

/** Bytes between two tiles that are still worth reading to save a read call, and the largest read. */
const maxGap = 32 * 1024;
const maxRead = 8 * 1024 * 1024;

/** A slide's associated image read whole, within the pixel bound slides give associated images. */
export async function readAssociatedRegion(
  path: string,
  regions: ReadonlyMap<string, TiledImageRegion>,
  name: string,
  maxPixels: number,
): Promise<RgbImage> {
  const region = regions.get(name);
  if (!region)
    throw new RangeError(`slide has no associated image "${name}"; it has ${[...regions.keys()].join(', ') || 'none'}`);
  const { width, height } = region.image;
  if (width * height > maxPixels) {
    throw slideUnreadable(
      path,
      `associated image "${name}" is ${width}×${height}, larger than the ${maxPixels}-pixel limit`,
    );
  }
  const { data } = await region.read(0, 0, width, height);
  return { data, width, height };
}
