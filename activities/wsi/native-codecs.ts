import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TileDecodeFailure, type RawTile, type TilePlacement } from './tile-decoding.js';

// The native tile codecs (native/pathgen-codecs.c, built by infra/build-native.sh into
// .tools/native) and the process-wide limit on how many decode batches run at once: the reader
// pool's `threads`. Batches run on the addon's own threads, as many as the largest limit asked for.

interface NativeAddon {
  decode(
    codec: number,
    tiles: Buffer[],
    tables: Buffer | null,
    colour: number,
    width: number,
    height: number,
    scaleDenom: number,
    outs: Buffer[],
    done: (failedIndex: number | null, message: string | null) => void,
    threads: number,
    region: Buffer | null,
    regionWidth: number,
    regionHeight: number,
    clipRight: number,
    clipBottom: number,
    origins: Int32Array | null,
  ): void;
  compose(
    dest: Buffer,
    width: number,
    height: number,
    tiles: Buffer[],
    tileWidth: number,
    tileHeight: number,
    origins: Int32Array,
    clipRight: number,
    clipBottom: number,
  ): void;
  versions(): string;
}

const addonName = 'pathgen-codecs.node';
let loaded: { addon?: NativeAddon; reason?: string } | undefined;

function locate(): string | undefined {
  const given = process.env.PATHGEN_NATIVE_CODECS;
  if (given) return given;
  // From activities/wsi (tsx) or dist/activities/wsi (built): the repository's .tools is above.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    const candidate = join(dir, '.tools', 'native', addonName);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

function load(): { addon?: NativeAddon; reason?: string } {
  if (loaded) return loaded;
  const path = locate();
  if (!path) {
    loaded = { reason: `${addonName} is not built (run infra/install-tools.sh, which runs infra/build-native.sh)` };
  } else {
    try {
      loaded = { addon: createRequire(import.meta.url)(path) as NativeAddon };
    } catch (error) {
      loaded = { reason: `${path} does not load: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  return loaded;
}

/** Why the native codecs are not available, or undefined when they are. */
export function nativeCodecsMissing(): string | undefined {
  return load().reason;
}

export function nativeCodecVersions(): string | undefined {
  return load().addon?.versions();
}

export type NativeCodec = 'jpeg' | 'jpeg2000';
export type NativeColour = 'rgb' | 'ycbcr';

export interface NativeBatch {
  codec: NativeCodec;
  colour: NativeColour;
  /** Size of every decoded tile (after scaling). */
  width: number;
  height: number;
  /** JPEG: shared tables of abbreviated streams. */
  tables?: Buffer;
  /** JPEG: DCT-domain scaling 1/n (1, 2, 4, 8). */
  scaleDenom?: number;
}

class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(public limit: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await job();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

const slots = new Slots(Math.max(1, availableParallelism()));

/** How many decode batches may run at once in this process (default: the core count). */
export function setDecodeThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1)
    throw new RangeError(`threads must be a positive integer, not ${threads}`);
  slots.limit = threads;
}

export function decodeThreads(): number {
  return slots.limit;
}

const colourCode = { rgb: 1, ycbcr: 2 } as const;
const maxBatch = 256;

function runBatch(
  addon: NativeAddon,
  batch: NativeBatch,
  tiles: RawTile[],
  outs: Buffer[],
  placement: TilePlacement | undefined,
  first: number,
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    addon.decode(
      batch.codec === 'jpeg2000' ? 1 : 0,
      tiles.map((tile) => tile.bytes),
      batch.tables ?? null,
      colourCode[batch.colour],
      batch.width,
      batch.height,
      batch.scaleDenom ?? 1,
      outs,
      (failed, message) => {
        if (failed === null) resolve(outs);
        else reject(new TileDecodeFailure(tiles[failed]?.index ?? -1, message ?? 'decode failed'));
      },
      slots.limit,
      placement?.region ?? null,
      placement?.width ?? 0,
      placement?.height ?? 0,
      placement?.clipRight ?? 0,
      placement?.clipBottom ?? 0,
      placement ? placement.origins.subarray(2 * first, 2 * (first + tiles.length)) : null,
    );
  });
}

/**
 * Decodes tiles to packed RGB off the JS thread (into `outs`, one tile-sized buffer per tile, when
 * given), split into as many batches as there are threads so one region's tiles decode on every
 * core; with `placement`, each tile is also copied into the region right after its decode, on the
 * decoding thread. Fails with a TileDecodeFailure naming the bad tile.
 */
export async function decodeNative(
  batch: NativeBatch,
  tiles: RawTile[],
  into: { outs?: Buffer[]; placement?: TilePlacement } = {},
): Promise<Buffer[]> {
  const { addon, reason } = load();
  if (!addon) throw new Error(reason);
  if (tiles.length === 0) return [];
  const bytes = batch.width * batch.height * 3;
  // Tile buffers come from the caller's cache where it has them: fresh ones for every decode
  // would have V8 collect its whole heap every few reads, for the external memory alone.
  const outs = into.outs ?? tiles.map(() => Buffer.allocUnsafe(bytes));
  const { placement } = into;
  // As many batches as threads, none so large that one read holds a thread for long.
  const parts = Math.min(slots.limit, tiles.length);
  const size = Math.min(maxBatch, Math.ceil(tiles.length / parts));
  const runs: Promise<Buffer[]>[] = [];
  for (let start = 0; start < tiles.length; start += size) {
    const chunk = tiles.slice(start, start + size);
    const chunkOuts = outs.slice(start, start + size);
    runs.push(slots.run(() => runBatch(addon, batch, chunk, chunkOuts, placement, start)));
  }
  return (await Promise.all(runs)).flat();
}

/**
 * Copies tiles (packed RGB, `tileWidth` × `tileHeight`) into a region at the given top-left corners
 * (region pixels, may be negative), nothing right of `clipRight` or below `clipBottom` (where the
 * image ends), in one native call; false when the addon is missing.
 */
export function composeTiles(
  dest: Buffer,
  width: number,
  height: number,
  tiles: Buffer[],
  tileWidth: number,
  tileHeight: number,
  origins: Int32Array,
  clipRight: number,
  clipBottom: number,
): boolean {
  const { addon } = load();
  if (!addon) return false;
  addon.compose(dest, width, height, tiles, tileWidth, tileHeight, origins, clipRight, clipBottom);
  return true;
}
