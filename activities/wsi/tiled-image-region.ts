import type { RandomAccessFile } from './random-access-file.js';
import { slideUnreadable, isSlideError } from './slide-errors.js';
import type { TileCache } from './tile-cache.js';
import { TileDecodeFailure, type RawTile, type TileDecoder } from './tile-decoding.js';
import type { TiffImage } from './tiff-image.js';

export interface RgbImage {
  /** Packed RGB, 3 bytes per pixel, row-major. */
  data: Buffer;
  width: number;
  height: number;
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
    readonly image: TiffImage,
    private readonly decoder: TileDecoder,
    private readonly cache: TileCache,
    private readonly cacheKey: string,
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

    const tiles = await Promise.all(this.tiles(needed));
    // Every pixel is overwritten when the region lies wholly on decoded tiles; otherwise white shows.
    const data =
      outsidePixels + missingPixels === 0
        ? Buffer.allocUnsafe(width * height * 3)
        : Buffer.alloc(width * height * 3, 255);
    needed.forEach((index, i) => {
      const tile = tiles[i]!;
      const tileLeft = (index % image.tilesAcross) * image.tileWidth;
      const tileTop = Math.floor(index / image.tilesAcross) * image.tileHeight;
      const fromX = Math.max(left, tileLeft);
      const toX = Math.min(right, tileLeft + image.tileWidth);
      const toY = Math.min(bottom, tileTop + image.tileHeight);
      const rowBytes = (toX - fromX) * 3;
      for (let sy = Math.max(top, tileTop); sy < toY; sy++) {
        const source = ((sy - tileTop) * image.tileWidth + (fromX - tileLeft)) * 3;
        tile.copy(data, ((sy - y) * width + (fromX - x)) * 3, source, source + rowBytes);
      }
    });
    return { data, width, height, outsidePixels: outsidePixels + missingPixels };
  }

  /** Decoded tiles from the cache where they are, the rest decoded together in one batch. */
  private tiles(indices: number[]): Promise<Buffer>[] {
    const found = indices.map((index) => this.cache.lookup(`${this.cacheKey}:${index}`));
    const missing = indices.filter((_, i) => found[i] === undefined);
    if (missing.length === 0) return found.map((tile) => Promise.resolve(tile!));
    const loaded = this.cache.loadAll(
      missing.map((index) => `${this.cacheKey}:${index}`),
      () => this.decodeTiles(missing),
    );
    let next = 0;
    return found.map((tile) => (tile === undefined ? loaded[next++]! : Promise.resolve(tile)));
  }

  private async decodeTiles(indices: number[]): Promise<Buffer[]> {
    const { image } = this;
    const raw = await this.readRaw(indices);
    let decoded: Buffer[];
    try {
      decoded = await this.decoder.decode(raw);
    } catch (error) {
      if (isSlideError(error)) throw error;
      const index = error instanceof TileDecodeFailure ? error.index : undefined;
      const where = `${index === undefined ? 'a tile' : `tile ${index}`} of page ${image.page}${image.subIfd === undefined ? '' : ` SubIFD ${image.subIfd}`}`;
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
          `tile ${indices[i]} of page ${image.page} decoded to ${tile.length} bytes, expected ${expected}`,
        );
    });
    return decoded;
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

/** Bytes between two tiles that are still worth reading to save a read call, and the largest read. */
const maxGap = 32 * 1024;
const maxRead = 8 * 1024 * 1024;
