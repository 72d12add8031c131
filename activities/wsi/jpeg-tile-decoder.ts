import { availableParallelism } from 'node:os';
import { assembleJpegTile, decodeJpegToRgb, type JpegColourSpace } from './jpeg-tile.js';
import { parseSequentialJpeg, stackJpegTiles, type SequentialJpeg } from './jpeg-tile-stack.js';
import { attributed, fitToTile, type RawTile, type TileDecoder } from './tile-decoding.js';
import { Photometric, type TiffImage } from './tiff-image.js';

/** Fewer tiles than this are not worth a stack of their own; more than this make one too tall. */
const minStack = 3;
const maxStack = 48;

/**
 * JPEG tiles of one page: stacked several to a decode where that is exact (see jpeg-tile-stack),
 * in as many stacks as there are cores, otherwise one by one. Both ways are strict: data libjpeg
 * complains about fails the tile, never comes back as grey blocks.
 */
export class JpegTileDecoder implements TileDecoder {
  private readonly colourSpace: JpegColourSpace;
  private readonly parallelism = Math.max(1, availableParallelism());

  constructor(private readonly image: TiffImage) {
    this.colourSpace = image.photometric === Photometric.Rgb ? 'rgb' : 'ycbcr';
  }

  async decode(tiles: RawTile[]): Promise<Buffer[]> {
    const { image } = this;
    const results = new Array<Promise<Buffer>>(tiles.length);
    const groups = new Map<string, { position: number; jpeg: SequentialJpeg }[]>();
    const streams = tiles.map((tile) => assembleJpegTile(tile.bytes, image.jpegTables, this.colourSpace));
    const parsed = streams.map((stream) => parseSequentialJpeg(stream));
    const singles: number[] = [];
    parsed.forEach((jpeg, position) => {
      if (image.tiled && jpeg?.seamless && jpeg.width === image.tileWidth && jpeg.height === image.tileHeight) {
        const group = groups.get(jpeg.signature) ?? [];
        group.push({ position, jpeg });
        groups.set(jpeg.signature, group);
      } else {
        singles.push(position);
      }
    });
    if (singles.length > 0) {
      const alone = this.decodeAlone(
        singles.map((position) => tiles[position]!),
        singles.map((position) => streams[position]!),
        singles.map((position) => parsed[position]),
      );
      singles.forEach((position, i) => {
        results[position] = alone.then((decoded) => decoded[i]!);
      });
    }
    for (const group of groups.values()) {
      const stacks = Math.max(1, Math.min(this.parallelism, Math.floor(group.length / minStack)));
      const size = Math.min(maxStack, Math.ceil(group.length / stacks));
      for (let start = 0; start < group.length; start += size) {
        const members = group.slice(start, start + size);
        const stacked = this.decodeStack(members.map(({ jpeg }) => jpeg)).catch(() =>
          // A stack that fails is decoded again one tile to a stack, so the error names the bad tile.
          Promise.all(
            members.map(({ position, jpeg }) =>
              attributed(tiles[position]!, async () => (await this.decodeStack([jpeg]))[0]!),
            ),
          ),
        );
        members.forEach(({ position }, i) => {
          results[position] = stacked.then((decoded) => decoded[i]!);
        });
      }
    }
    return Promise.all(results);
  }

  private async decodeStack(jpegs: SequentialJpeg[]): Promise<Buffer[]> {
    const { tileWidth, tileHeight } = this.image;
    const decoded = await decodeJpegToRgb(stackJpegTiles(jpegs), tileWidth * tileHeight * (jpegs.length + 1));
    if (decoded.width !== tileWidth || decoded.height < tileHeight * jpegs.length)
      throw new Error('stack decoded to the wrong size');
    const bytes = tileWidth * tileHeight * 3;
    return jpegs.map((_, i) => decoded.data.subarray(i * bytes, (i + 1) * bytes));
  }

  /**
   * Tiles that cannot be stacked exactly (vertical chroma subsampling, strips, progressive), each
   * decoded alone. libvips may let a warning in a tile's last rows pass, and sharp reports warnings
   * from a process-wide queue, so any warning during the batch has every tile checked again inside
   * stacks with a sentinel, which fail on bad data. (A warning taken by a decode outside this batch
   * is missed: damage confined to a tile's last rows can, rarely, go unnoticed under concurrency.)
   */
  private async decodeAlone(
    tiles: RawTile[],
    streams: Buffer[],
    parsed: (SequentialJpeg | undefined)[],
  ): Promise<Buffer[]> {
    const { tileWidth, tileHeight, tiled } = this.image;
    let warned = false;
    const decoded = await Promise.all(
      tiles.map((tile, i) =>
        attributed(tile, async () => {
          const jpeg = await decodeJpegToRgb(streams[i]!, tileWidth * tileHeight);
          if (jpeg.warnings.length > 0) {
            warned = true;
            if (!parsed[i]) throw new Error(jpeg.warnings[0]);
          }
          // A JPEG smaller than its tile is malformed; a short last strip is normal.
          if (tiled && (jpeg.width !== tileWidth || jpeg.height !== tileHeight)) {
            throw new Error(`JPEG is ${jpeg.width}×${jpeg.height}, the tile size is ${tileWidth}×${tileHeight}`);
          }
          return fitToTile(jpeg.data, jpeg.width, jpeg.height, tileWidth, tileHeight);
        }),
      ),
    );
    if (warned) {
      const check = async (i: number): Promise<Buffer> =>
        (await decodeJpegToRgb(stackJpegTiles([parsed[i]!]), tileWidth * tileHeight * 2)).data;
      await Promise.all(tiles.flatMap((tile, i) => (parsed[i] ? [attributed(tile, () => check(i))] : [])));
    }
    return decoded;
  }
}
