import { PathgenError } from '../common/errors.js';
import { withoutByteOrderMark } from './text-lines.js';

// Reads a file holding one big JSON array (the released PathGen-1.6M JSON is ~500 MB) one element
// at a time: a byte scanner finds where each top-level element starts and ends (tracking strings,
// escapes and bracket depth) and only that element's bytes are handed to JSON.parse. Memory stays
// at one element plus one chunk, whatever the file size.

export type JsonArrayItem =
  | { index: number; byteOffset: number; value: unknown }
  /** The element's bytes were found but are not valid JSON; the reader goes on with the next one. */
  | { index: number; byteOffset: number; error: string };

/** Where to resume: just after element `index - 1`, at byte `byteOffset`. */
export interface JsonArrayCursor {
  index: number;
  byteOffset: number;
}

export interface JsonArrayReadOptions {
  /** Resume after an element instead of at the start of the file. */
  cursor?: JsonArrayCursor;
  maxElementBytes?: number;
}

const enum Scan {
  BeforeArray,
  FirstElementOrEnd,
  Element,
  AfterElement,
  AfterComma,
  AfterArray,
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;

export async function* readJsonArray(
  chunks: AsyncIterable<Uint8Array>,
  options: JsonArrayReadOptions = {},
): AsyncGenerator<JsonArrayItem & { next: JsonArrayCursor }> {
  const maxElementBytes = options.maxElementBytes ?? 64 * 1024 * 1024;
  let offset = options.cursor?.byteOffset ?? 0;
  let index = options.cursor?.index ?? 0;
  let scan = (
    options.cursor === undefined || options.cursor.index === 0 ? Scan.BeforeArray : Scan.AfterElement
  ) as Scan;
  if (options.cursor !== undefined && options.cursor.index === 0 && offset !== 0) {
    throw new PathgenError('InvalidInput', 'a JSON array cursor at element 0 must start at byte 0', {
      cursor: options.cursor,
    });
  }

  let depth = 0;
  let inString = false;
  let escaped = false;
  let scalar = false;
  let elementStart = 0;
  let pieces: Buffer[] = [];
  let pieceBytes = 0;

  const structural = (message: string, at: number) =>
    new PathgenError('InvalidInput', `not a JSON array of records: ${message} at byte ${at}`, { byteOffset: at });

  const input = offset === 0 ? withoutByteOrderMark(chunks, (bytes) => (offset += bytes)) : chunks;
  for await (const raw of input) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let pieceStart = scan === Scan.Element ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (scan === Scan.Element) {
        let ended = false;
        let endsBefore = false;
        if (inString) {
          if (escaped) escaped = false;
          else if (byte === BACKSLASH) escaped = true;
          else if (byte === QUOTE) {
            inString = false;
            ended = depth === 0;
          }
        } else if (scalar) {
          if (byte === COMMA || byte === CLOSE_BRACKET || isSpace(byte)) ended = endsBefore = true;
        } else if (byte === QUOTE) inString = true;
        else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth += 1;
        else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
          depth -= 1;
          ended = depth === 0;
        }
        if (!ended) continue;
        const end = endsBefore ? i : i + 1;
        pieces.push(chunk.subarray(pieceStart, end));
        pieceBytes += end - pieceStart;
        const text = Buffer.concat(pieces, pieceBytes).toString('utf8');
        pieces = [];
        pieceBytes = 0;
        const next = { index: index + 1, byteOffset: offset + end };
        yield { ...parseElement(text, index, elementStart), next };
        index += 1;
        scan = Scan.AfterElement;
        if (!endsBefore) continue;
      }
      if (isSpace(byte)) continue;
      switch (scan) {
        case Scan.BeforeArray:
          if (byte !== OPEN_BRACKET) throw structural('expected [', offset + i);
          scan = Scan.FirstElementOrEnd;
          break;
        case Scan.FirstElementOrEnd:
        case Scan.AfterComma:
          if (byte === CLOSE_BRACKET && scan === Scan.FirstElementOrEnd) {
            scan = Scan.AfterArray;
            break;
          }
          if (byte === COMMA || byte === CLOSE_BRACKET) throw structural('expected an element', offset + i);
          scan = Scan.Element;
          elementStart = offset + i;
          pieceStart = i;
          depth = byte === OPEN_BRACE || byte === OPEN_BRACKET ? 1 : 0;
          inString = byte === QUOTE;
          scalar = depth === 0 && !inString;
          escaped = false;
          break;
        case Scan.AfterElement:
          if (byte === COMMA) scan = Scan.AfterComma;
          else if (byte === CLOSE_BRACKET) scan = Scan.AfterArray;
          else throw structural('expected , or ] after an element', offset + i);
          break;
        case Scan.AfterArray:
          throw structural('unexpected data after the array', offset + i);
      }
    }
    if (scan === Scan.Element) {
      // The element goes on in the next chunk: keep a copy of its part of this one.
      pieces.push(Buffer.from(chunk.subarray(pieceStart)));
      pieceBytes += chunk.length - pieceStart;
      if (pieceBytes > maxElementBytes) {
        throw structural(`element ${index} is longer than ${maxElementBytes} bytes`, elementStart);
      }
    }
    offset += chunk.length;
  }
  if (scan !== Scan.AfterArray) throw structural('the array is not closed', offset);
}

function parseElement(text: string, index: number, byteOffset: number): JsonArrayItem {
  try {
    return { index, byteOffset, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { index, byteOffset, error: `not valid JSON: ${(error as Error).message}` };
  }
}
