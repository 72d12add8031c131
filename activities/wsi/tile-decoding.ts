// What every tile decoder shares: the batch interface, failures that name their tile, and fitting
// a short decode (the last strip of a stripped image) into a full-size tile.

export interface RawTile {
  index: number;
  bytes: Buffer;
}

/** Where decoded tiles also go: a region (packed RGB), each tile's top-left corner in it. */
export interface TilePlacement {
  region: Buffer;
  width: number;
  height: number;
  /** Region pixels right of / below these lie outside the image and stay as they are. */
  clipRight: number;
  clipBottom: number;
  /** Two per tile, in the order of the tiles: x, y of the tile's corner in region pixels. */
  origins: Int32Array;
}

/** Decodes raw tiles of one image to packed RGB of the full tile size, in the order given. */
export interface TileDecoder {
  decode(tiles: RawTile[]): Promise<Buffer[]>;
  /**
   * The same, into the given tile-sized buffers (one per tile), and with `placement` also copying
   * each tile into a region as it is decoded (the native decoder does both).
   */
  decodeInto?(tiles: RawTile[], outs: Buffer[], placement?: TilePlacement): Promise<Buffer[]>;
}

/** A tile that would not decode; `index` says which. */
export class TileDecodeFailure extends Error {
  constructor(
    readonly index: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Runs a one-tile decode so that any failure names the tile. */
export async function attributed(tile: RawTile, decode: (tile: RawTile) => Buffer | Promise<Buffer>): Promise<Buffer> {
  try {
    return await decode(tile);
  } catch (error) {
    if (error instanceof TileDecodeFailure) throw error;
    throw new TileDecodeFailure(tile.index, error instanceof Error ? error.message : String(error), { cause: error });
  }
}

export function fitToTile(data: Buffer, width: number, height: number, tileWidth: number, tileHeight: number): Buffer {
  if (width === tileWidth && height === tileHeight) return data;
  if (width > tileWidth || height > tileHeight)
    throw new Error(`tile decoded to ${width}×${height}, larger than ${tileWidth}×${tileHeight}`);
  const tile = Buffer.alloc(tileWidth * tileHeight * 3, 255);
  for (let row = 0; row < height; row++) data.copy(tile, row * tileWidth * 3, row * width * 3, (row + 1) * width * 3);
  return tile;
}
