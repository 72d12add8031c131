// Splits a byte stream into lines without decoding it first, so every line knows the byte offset
// where the next one starts: a reader can stop after any line and a later one can resume there
// with a ranged read instead of re-scanning. Splitting on the LF byte is safe in UTF-8, where no
// multi-byte sequence contains an ASCII byte.

export interface TextLine {
  /** 1-based physical line number. */
  line: number;
  /** The line without its LF or CRLF terminator; undefined when it was longer than allowed. */
  text: string | undefined;
  /** Byte offset just after this line's terminator: where the next line starts. */
  endByte: number;
}

export interface LineReadOptions {
  /** Byte offset the stream starts at (0, or a previous line's `endByte`). */
  startByte?: number;
  /** Line number of the first line in the stream. */
  startLine?: number;
  /** Longer lines are reported with `text: undefined` and skipped, not held in memory. */
  maxLineBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const utf8Bom = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The stream without a leading UTF-8 byte order mark (spreadsheet programs write one), however the
 * first bytes are split into chunks; `onSkipped` hears of the 3 bytes so offsets stay true.
 */
export async function* withoutByteOrderMark(
  chunks: AsyncIterable<Uint8Array>,
  onSkipped: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const chunk of chunks) {
    if (head === undefined) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    const couldBeBom = utf8Bom.subarray(0, Math.min(head.length, 3)).equals(head.subarray(0, 3));
    if (couldBeBom && head.length < 3) continue;
    const rest: Buffer = couldBeBom ? head.subarray(3) : head;
    if (couldBeBom) onSkipped(3);
    head = undefined;
    if (rest.length > 0) yield rest;
  }
  if (head !== undefined && head.length > 0) yield head;
}

export async function* readTextLines(
  chunks: AsyncIterable<Uint8Array>,
  options: LineReadOptions = {},
): AsyncGenerator<TextLine> {
  const maxLineBytes = options.maxLineBytes ?? 16 * 1024 * 1024;
  let offset = options.startByte ?? 0;
  let line = options.startLine ?? 1;
  let pieces: Uint8Array[] = [];
  let pieceBytes = 0;
  let tooLong = false;
  const input = offset === 0 ? withoutByteOrderMark(chunks, (bytes) => (offset += bytes)) : chunks;

  const finish = (endByte: number): TextLine => {
    let text: string | undefined;
    if (!tooLong) {
      const bytes = Buffer.concat(pieces, pieceBytes);
      const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
      text = bytes.toString('utf8', 0, end);
    }
    const result = { line, text, endByte };
    pieces = [];
    pieceBytes = 0;
    tooLong = false;
    line += 1;
    return result;
  };

  const keep = (piece: Uint8Array) => {
    if (tooLong || piece.length === 0) return;
    pieceBytes += piece.length;
    if (pieceBytes > maxLineBytes) {
      tooLong = true;
      pieces = [];
      return;
    }
    pieces.push(piece);
  };

  for await (const chunk of input) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(LF, start);
      if (newline === -1) break;
      keep(chunk.subarray(start, newline));
      yield finish(offset + newline + 1);
      start = newline + 1;
    }
    // The stream owns the chunk's memory: copy the tail we keep beyond this iteration.
    if (start < chunk.length) keep(Buffer.from(chunk.subarray(start)));
    offset += chunk.length;
  }
  if (pieceBytes > 0 || tooLong) yield finish(offset);
}
