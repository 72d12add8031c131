import { withoutByteOrderMark } from './text-lines.js';

// An RFC 4180 CSV reader over a byte stream: fields separated by commas, records by CRLF or LF (a
// lone CR too), fields optionally in double quotes, where they may hold commas, line breaks and
// doubled quotes (""). It works on bytes, not decoded text, so each record knows the byte offset
// where the next one starts (a reader can resume there with a ranged read), and a malformed record
// is reported with its line and skipped instead of ending the read.

interface CsvPosition {
  /** Physical line (1-based) where the record starts. */
  line: number;
  /** Byte offset just after the record's terminator: where the next record starts. */
  endByte: number;
  /** Physical line number at `endByte`. */
  nextLine: number;
}

export type CsvRecord =
  | (CsvPosition & { fields: string[] })
  /** `fatal`: the rest of the input cannot be split into records reliably, so reading stops. */
  | (CsvPosition & { error: string; fatal?: boolean });

export interface CsvReadOptions {
  /** Byte offset the stream starts at: 0, or a previous record's `endByte`. */
  startByte?: number;
  /** Physical line number of the first byte. */
  startLine?: number;
  maxRecordBytes?: number;
  /** One ASCII character; ',' by default. */
  delimiter?: string;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
  SkipToLineEnd,
}

export async function* readCsvRecords(
  chunks: AsyncIterable<Uint8Array>,
  options: CsvReadOptions = {},
): AsyncGenerator<CsvRecord> {
  const delimiter = (options.delimiter ?? ',').charCodeAt(0);
  const maxRecordBytes = options.maxRecordBytes ?? 16 * 1024 * 1024;
  let offset = options.startByte ?? 0;
  let line = options.startLine ?? 1;

  let state = State.FieldStart as State;
  let field = Buffer.alloc(256);
  let fieldLength = 0;
  let fields: string[] = [];
  let recordLine = line;
  let recordBytes = 0;
  let recordError: string | undefined;
  // A record ended by CR waits here until the next byte says whether an LF belongs to it.
  let afterCr: CsvRecord | 'blank' | undefined;

  const append = (byte: number) => {
    if (fieldLength === field.length) {
      const bigger = Buffer.alloc(field.length * 2);
      field.copy(bigger, 0, 0, fieldLength);
      field = bigger;
    }
    field[fieldLength++] = byte;
  };
  const endField = () => {
    fields.push(field.toString('utf8', 0, fieldLength));
    fieldLength = 0;
  };
  /** Ends the current record; undefined for a blank line. */
  const endRecord = (endByte: number): CsvRecord | undefined => {
    const blank = recordBytes === 0;
    const position = { line: recordLine, endByte, nextLine: line + 1 };
    const record: CsvRecord | undefined = blank
      ? undefined
      : recordError !== undefined
        ? { ...position, error: recordError }
        : { ...position, fields };
    fields = [];
    fieldLength = 0;
    recordBytes = 0;
    recordError = undefined;
    state = State.FieldStart;
    return record;
  };
  const fail = (message: string) => {
    recordError ??= message;
    state = State.SkipToLineEnd;
  };

  const input = offset === 0 ? withoutByteOrderMark(chunks, (bytes) => (offset += bytes)) : chunks;
  for await (const chunk of input) {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (afterCr !== undefined) {
        const pending = afterCr;
        afterCr = undefined;
        line += 1;
        if (byte === LF) {
          if (pending !== 'blank') yield { ...pending, endByte: offset + i + 1 };
          recordLine = line;
          continue;
        }
        if (pending !== 'blank') yield { ...pending, endByte: offset + i };
        recordLine = line;
      }
      const isLineEnd = byte === LF || byte === CR;
      if (!isLineEnd || state === State.Quoted) {
        if (recordBytes === 0) recordLine = line;
        recordBytes += 1;
        if (recordBytes > maxRecordBytes) {
          yield {
            line: recordLine,
            error: `row is longer than ${maxRecordBytes} bytes (an unclosed quote?); reading stopped here`,
            endByte: offset + i,
            nextLine: line,
            fatal: true,
          };
          return;
        }
      }
      switch (state) {
        case State.FieldStart:
        case State.Unquoted:
        case State.QuoteInQuoted:
          if (byte === delimiter) {
            endField();
            state = State.FieldStart;
          } else if (isLineEnd) {
            if (recordBytes > 0) endField();
            const record = endRecord(offset + i + 1);
            if (byte === CR) {
              afterCr = record ?? 'blank';
            } else {
              line += 1;
              if (record !== undefined) yield record;
              recordLine = line;
            }
          } else if (byte === QUOTE) {
            if (state === State.FieldStart) state = State.Quoted;
            else if (state === State.QuoteInQuoted) {
              append(QUOTE);
              state = State.Quoted;
            } else fail(`field ${fields.length + 1} has a double quote inside an unquoted value`);
          } else if (state === State.QuoteInQuoted) {
            fail(`field ${fields.length + 1} has text after its closing double quote`);
          } else {
            append(byte);
            state = State.Unquoted;
          }
          break;
        case State.Quoted:
          if (byte === QUOTE) state = State.QuoteInQuoted;
          else {
            if (byte === LF) line += 1;
            append(byte);
          }
          break;
        case State.SkipToLineEnd:
          if (isLineEnd) {
            const record = endRecord(offset + i + 1);
            if (byte === CR) afterCr = record ?? 'blank';
            else {
              line += 1;
              if (record !== undefined) yield record;
              recordLine = line;
            }
          }
          break;
      }
    }
    offset += chunk.length;
  }

  if (afterCr !== undefined) {
    if (afterCr !== 'blank') yield { ...afterCr, endByte: offset };
    return;
  }
  if (state === State.Quoted) {
    yield {
      line: recordLine,
      error: 'a quoted field is not closed (missing ")',
      endByte: offset,
      nextLine: line,
      fatal: true,
    };
    return;
  }
  if (recordBytes > 0) {
    if (state !== State.SkipToLineEnd) endField();
    const record = endRecord(offset);
    if (record !== undefined) yield record;
  }
}
