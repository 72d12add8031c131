// Decoding many small JPEG tiles one by one through sharp costs more in per-image setup than in
// decoding (about 0.4 ms a tile). Tiles of one TIFF page share their tables and size, so several
// can be stacked into one tall JPEG: their entropy-coded scans one after another, separated by
// restart markers (which reset the DC predictors exactly where a new tile starts), under one frame
// header whose height is the sum. libjpeg then decodes the stack in one pass, and every tile comes
// out bit-identical to decoding it alone, because baseline JPEG blocks carry no state across a
// restart. One exception: with vertical chroma subsampling, libjpeg's "fancy" upsampling blends
// chroma rows across the seam, so such tiles are not `seamless` and only stacked to check them.
//
// Strictness: libvips' JPEG loader turns a libjpeg warning (corrupt data) into an error only when it
// starts the next 8-row strip, so a warning in an image's last rows passes silently. Every stack
// therefore ends with a sentinel band of flat blocks, encoded here from the stack's own Huffman
// tables: decoding it after the last tile makes a warning anywhere in the tiles fatal.

const SOS = 0xda;
const EOI = 0xd9;
const DRI = 0xdd;
const DHT = 0xc4;

interface Scan {
  /** Segments between the previous scan and this one (usually DHT). */
  before: Buffer[];
  header: Buffer;
  data: Buffer;
}

interface Component {
  id: number;
  h: number;
  v: number;
}

export interface SequentialJpeg {
  width: number;
  height: number;
  /** Everything between SOI and the frame header. */
  header: Buffer[];
  frame: Buffer;
  components: Component[];
  hMax: number;
  vMax: number;
  scans: Scan[];
  /** Restart interval of each scan when one tile is one interval. */
  intervals: number[];
  /** No vertical subsampling: stacked decoding gives exactly the pixels of decoding alone. */
  seamless: boolean;
  /** Equal for tiles that can share one stack. */
  signature: string;
}

/**
 * Splits a complete JPEG stream into frame and scans when it can be stacked: baseline or extended
 * sequential Huffman, 8-bit, no restart markers of its own, whole MCUs, ending in EOI. Anything
 * else (progressive, arithmetic, a truncated tile without EOI) returns undefined.
 */
export function parseSequentialJpeg(jpeg: Buffer): SequentialJpeg | undefined {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return undefined;
  const header: Buffer[] = [];
  let frame: Buffer | undefined;
  const scans: Scan[] = [];
  let before: Buffer[] = [];
  let at = 2;
  for (;;) {
    if (at + 2 > jpeg.length || jpeg[at] !== 0xff) return undefined;
    const marker = jpeg[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === EOI) break;
    if (marker === DRI || (marker >= 0xd0 && marker <= 0xd7) || at + 4 > jpeg.length) return undefined;
    const end = at + 2 + jpeg.readUInt16BE(at + 2);
    if (end > jpeg.length) return undefined;
    const segment = jpeg.subarray(at, end);
    if (marker === SOS) {
      const dataEnd = frame ? endOfEntropyData(jpeg, end) : undefined;
      if (dataEnd === undefined) return undefined;
      scans.push({ before, header: segment, data: jpeg.subarray(end, dataEnd) });
      before = [];
      at = dataEnd;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== DHT && marker !== 0xc8 && marker !== 0xcc) {
      if ((marker !== 0xc0 && marker !== 0xc1) || frame) return undefined;
      frame = segment;
    } else if (frame) {
      before.push(segment);
    } else {
      header.push(segment);
    }
    at = end;
  }
  if (!frame || scans.length === 0 || frame[4] !== 8) return undefined;
  const height = frame.readUInt16BE(5);
  const width = frame.readUInt16BE(7);
  const components: Component[] = [];
  for (let c = 0; c < frame[9]!; c++)
    components.push({ id: frame[10 + c * 3]!, h: frame[11 + c * 3]! >> 4, v: frame[11 + c * 3]! & 15 });
  const hMax = Math.max(...components.map((c) => c.h));
  const vMax = Math.max(...components.map((c) => c.v));
  if (width % (8 * hMax) !== 0 || height % (8 * vMax) !== 0) return undefined;
  const intervals: number[] = [];
  for (const scan of scans) {
    const inScan = scan.header[4]!;
    const component = components.find((c) => c.id === scan.header[5]);
    if (!component) return undefined;
    intervals.push(
      inScan > 1 ? (width / (8 * hMax)) * (height / (8 * vMax)) : blocksOf(component, width, height, hMax, vMax),
    );
  }
  if (intervals.some((interval) => interval < 1 || interval > 0xffff)) return undefined;
  const signature = [...header, frame, ...scans.flatMap((scan) => [...scan.before, scan.header])]
    .map((segment) => segment.toString('latin1'))
    .join('|');
  return {
    width,
    height,
    header,
    frame,
    components,
    hMax,
    vMax,
    scans,
    intervals,
    seamless: components.every((c) => c.v === vMax),
    signature,
  };
}

function blocksOf(component: Component, width: number, height: number, hMax: number, vMax: number): number {
  return (
    Math.ceil(Math.ceil((width * component.h) / hMax) / 8) * Math.ceil(Math.ceil((height * component.v) / vMax) / 8)
  );
}

/** Where the entropy-coded data starting at `from` ends: at the first marker that is not stuffing. */
function endOfEntropyData(jpeg: Buffer, from: number): number | undefined {
  let at = from;
  for (;;) {
    at = jpeg.indexOf(0xff, at);
    if (at < 0 || at + 1 >= jpeg.length) return undefined;
    const next = jpeg[at + 1]!;
    if (next === 0x00 || next === 0xff) {
      at += next === 0xff ? 1 : 2;
      continue;
    }
    if (next >= 0xd0 && next <= 0xd7) return undefined; // restarts without DRI: not ours to stack
    return at;
  }
}

/**
 * One tall JPEG holding the tiles top to bottom, then a sentinel band; all tiles must share a
 * signature. The first `tiles.length × height` rows of the decode are the tiles.
 */
export function stackJpegTiles(tiles: SequentialJpeg[]): Buffer {
  const first = tiles[0]!;
  const sentinel = sentinelBand(first) ?? { rows: first.height, scans: first.scans.map((scan) => scan.data) };
  const frame = Buffer.from(first.frame);
  const height = first.height * tiles.length + sentinel.rows;
  if (height > 0xffff) throw new RangeError(`a stack of ${tiles.length} tiles is too tall for one JPEG`);
  frame.writeUInt16BE(height, 5);
  const parts: Buffer[] = [Buffer.from([0xff, 0xd8]), ...first.header, frame];
  first.scans.forEach((scan, s) => {
    const interval = first.intervals[s]!;
    parts.push(...scan.before, Buffer.from([0xff, DRI, 0x00, 0x04, interval >> 8, interval & 0xff]), scan.header);
    tiles.forEach((tile, i) => {
      parts.push(tile.scans[s]!.data, Buffer.from([0xff, 0xd0 + (i % 8)]));
    });
    parts.push(sentinel.scans[s]!);
  });
  parts.push(Buffer.from([0xff, EOI]));
  return Buffer.concat(parts);
}

/** Canonical Huffman codes of one DHT table: symbol → [code, length]. */
function huffmanCodes(segment: Buffer, at: number): { codes: Map<number, [number, number]>; next: number } {
  const codes = new Map<number, [number, number]>();
  let symbolAt = at + 17;
  let code = 0;
  for (let length = 1; length <= 16; length++) {
    const count = segment[at + length]!;
    for (let i = 0; i < count; i++) codes.set(segment[symbolAt++]!, [code++, length]);
    code <<= 1;
  }
  return { codes, next: symbolAt };
}

/**
 * Entropy data of a band of flat blocks (DC difference 0, end of block) for each scan, using the
 * Huffman tables in force for that scan; undefined when a table lacks those two symbols.
 */
function sentinelBand(jpeg: SequentialJpeg): { rows: number; scans: Buffer[] } | undefined {
  const rows = 16 * jpeg.vMax;
  const tables = new Map<number, Map<number, [number, number]>>(); // (class << 4 | id) → codes
  const define = (segments: Buffer[]) => {
    for (const segment of segments) {
      if (segment[1] !== DHT) continue;
      let at = 4;
      while (at < segment.length) {
        const { codes, next } = huffmanCodes(segment, at);
        tables.set(segment[at]!, codes);
        at = next;
      }
    }
  };
  define(jpeg.header);
  const scans: Buffer[] = [];
  for (const scan of jpeg.scans) {
    define(scan.before);
    const writer = new BitWriter();
    const inScan = scan.header[4]!;
    const members: { codes: [number, number][]; blocks: number }[] = [];
    for (let i = 0; i < inScan; i++) {
      const component = jpeg.components.find((c) => c.id === scan.header[5 + i * 2]);
      const selectors = scan.header[6 + i * 2]!;
      const dc = tables.get(selectors >> 4)?.get(0);
      const ac = tables.get(0x10 | (selectors & 15))?.get(0);
      if (!component || !dc || !ac) return undefined;
      members.push({ codes: [dc, ac], blocks: inScan > 1 ? component.h * component.v : 1 });
    }
    const units =
      inScan > 1
        ? (jpeg.width / (8 * jpeg.hMax)) * (rows / (8 * jpeg.vMax))
        : blocksOf(
            jpeg.components.find((c) => c.id === scan.header[5])!,
            jpeg.width,
            rows,
            jpeg.hMax,
            jpeg.vMax,
          );
    for (let unit = 0; unit < units; unit++) {
      for (const member of members)
        for (let b = 0; b < member.blocks; b++) for (const [code, length] of member.codes) writer.write(code, length);
    }
    scans.push(writer.finish());
  }
  return { rows, scans };
}

class BitWriter {
  private readonly bytes: number[] = [];
  private buffer = 0;
  private count = 0;

  write(code: number, length: number): void {
    for (let bit = length - 1; bit >= 0; bit--) {
      this.buffer = (this.buffer << 1) | ((code >> bit) & 1);
      if (++this.count === 8) this.flush();
    }
  }

  finish(): Buffer {
    while (this.count !== 0) this.write(1, 1); // pad with ones, as the standard asks
    return Buffer.from(this.bytes);
  }

  private flush(): void {
    this.bytes.push(this.buffer);
    if (this.buffer === 0xff) this.bytes.push(0x00);
    this.buffer = 0;
    this.count = 0;
  }
}
