import type { ObjectStore } from '../store/object-store.js';
import { readCsvRecords } from './csv-records.js';
import type { CsvRecord } from './csv-records.js';
import { csvHeaderErrors, csvRecordToObject } from './csv-table.js';
import type { CsvColumnSpec } from './csv-table.js';
import { isManifestRowError, validateManifestRow } from './manifest-row.js';
import type { ManifestItem, ManifestRowError, ManifestRowOk } from './manifest-row.js';
import { openSourceBytes, sourceFormat } from './manifest-source.js';
import type { FileManifestSource, ManifestSource } from './manifest-source.js';
import { readTextLines } from './text-lines.js';

/**
 * Where to continue reading a manifest. `index` counts data rows (good and bad; not the CSV header
 * or blank lines) from 0. For files and store objects `byteOffset` is where row `index` starts and
 * `line` its line number, so the next page opens a ranged read there instead of re-scanning: each
 * page costs O(page) whatever its position. A cursor is only valid for the bytes it was made from.
 */
export interface ManifestCursor {
  index: number;
  line: number;
  byteOffset?: number;
}

export interface ManifestReadOptions {
  /** Needed for store sources. */
  store?: ObjectStore;
  /** Start here instead of at the first row. */
  cursor?: ManifestCursor;
}

interface PositionedItem {
  index: number;
  item: ManifestItem;
  /** Cursor of the row after this one; undefined after a fatal error (nothing more can be read). */
  next: ManifestCursor | undefined;
}

const manifestColumns: CsvColumnSpec = {
  required: ['slideId', 'slide', 'project'],
  optional: ['report', 'reportUri', 'mppOverride'],
  numeric: ['mppOverride'],
};

const startCursor: ManifestCursor = { index: 0, line: 1, byteOffset: 0 };

/**
 * Every row of a manifest, checked, in order, streaming: `{ line, row }` for a good row,
 * `{ line, slideId?, errors }` for a bad one (all its bad fields at once). Reading goes on past bad
 * rows, so one pass collects them all. A slide id seen before in this pass is a bad row naming the
 * first line. A CSV whose header is wrong yields one error for line of the header and nothing else.
 */
export async function* readManifest(
  source: ManifestSource,
  options: ManifestReadOptions = {},
): AsyncGenerator<ManifestItem> {
  const firstLine = new Map<string, number>();
  for await (const { item } of readPositioned(source, options)) {
    if (isManifestRowError(item)) {
      yield item;
      continue;
    }
    const seen = firstLine.get(item.row.slideId);
    if (seen !== undefined) {
      yield {
        line: item.line,
        slideId: item.row.slideId,
        errors: [{ field: 'slideId', message: `duplicate slideId ${item.row.slideId} (first on line ${seen})` }],
      };
      continue;
    }
    firstLine.set(item.row.slideId, item.line);
    yield item;
  }
}

export interface ManifestPage {
  rows: ManifestRowOk[];
  errors: ManifestRowError[];
  /** Pass back as `cursor` for the next page; undefined when the manifest has no more rows. */
  next?: ManifestCursor;
}

export interface ManifestPageOptions extends ManifestReadOptions {
  /** Rows per page, good and bad together. */
  limit: number;
  /** Row index to start at when there is no cursor (inline sources jump there, files re-scan). */
  offset?: number;
  /**
   * Ends the page early once its rows would take more than this many bytes as JSON (at least one
   * row is always returned), so a page with long inline reports still fits a Temporal payload.
   */
  maxPageBytes?: number;
}

/**
 * One page of rows from `cursor` (or `offset`). Duplicate slide ids are not detected across
 * pages: check the whole manifest once with `scanManifest` first.
 */
export async function readManifestPage(source: ManifestSource, options: ManifestPageOptions): Promise<ManifestPage> {
  const limit = Math.max(1, Math.floor(options.limit));
  const maxBytes = options.maxPageBytes ?? Number.POSITIVE_INFINITY;
  let bytes = 0;
  let cursor = options.cursor;
  let skip = 0;
  if (cursor === undefined && options.offset !== undefined && options.offset > 0) {
    if (source.kind === 'inline') cursor = { index: options.offset, line: options.offset + 1 };
    else skip = options.offset;
  }
  const page: ManifestPage = { rows: [], errors: [] };
  let next: ManifestCursor | undefined = cursor ?? startCursor;
  for await (const positioned of readPositioned(source, { ...options, cursor })) {
    if (positioned.index >= 0 && positioned.index < skip) {
      next = positioned.next;
      continue;
    }
    const size = Number.isFinite(maxBytes) ? JSON.stringify(positioned.item).length : 0;
    const count = page.rows.length + page.errors.length;
    if (count === limit || (count > 0 && bytes + size > maxBytes)) {
      // One row beyond the page says there is more; the next page reads it again.
      page.next = next;
      return page;
    }
    bytes += size;
    if (isManifestRowError(positioned.item)) page.errors.push(positioned.item);
    else page.rows.push(positioned.item);
    next = positioned.next;
  }
  return page;
}

export interface ManifestSummary {
  /** Data rows, good and bad. */
  rows: number;
  goodRows: number;
  badRows: number;
  /** The first `maxErrors` bad rows, duplicates included. */
  errors: ManifestRowError[];
}

/** One streaming pass over the whole manifest: counts, the first bad rows, duplicate slide ids. */
export async function scanManifest(
  source: ManifestSource,
  options: { store?: ObjectStore; maxErrors?: number } = {},
): Promise<ManifestSummary> {
  const maxErrors = options.maxErrors ?? 100;
  const summary: ManifestSummary = { rows: 0, goodRows: 0, badRows: 0, errors: [] };
  for await (const item of readManifest(source, { store: options.store })) {
    summary.rows += 1;
    if (isManifestRowError(item)) {
      summary.badRows += 1;
      if (summary.errors.length < maxErrors) summary.errors.push(item);
    } else summary.goodRows += 1;
  }
  return summary;
}

async function* readPositioned(source: ManifestSource, options: ManifestReadOptions): AsyncGenerator<PositionedItem> {
  if (source.kind === 'inline') {
    for (let index = options.cursor?.index ?? 0; index < source.rows.length; index++) {
      const line = index + 1;
      yield { index, item: validateManifestRow(source.rows[index], line), next: { index: index + 1, line: line + 1 } };
    }
    return;
  }
  yield* readFileItems(source, options.store, options.cursor);
}

async function* readFileItems(
  source: FileManifestSource,
  store: ObjectStore | undefined,
  cursor: ManifestCursor | undefined,
): AsyncGenerator<PositionedItem> {
  const format = sourceFormat(source);
  let index = cursor?.index ?? 0;
  // A cursor without a byte offset (hand-made) can only be honoured by reading from the start.
  const resume = cursor?.byteOffset !== undefined && cursor.byteOffset > 0 ? cursor : undefined;
  const skipBefore = resume === undefined ? index : 0;
  if (resume === undefined) index = 0;
  const startByte = resume?.byteOffset ?? 0;
  const stream = await openSourceBytes(source, store, startByte);
  try {
    if (format === 'jsonl') {
      for await (const text of readTextLines(stream, { startByte, startLine: resume?.line ?? 1 })) {
        if (text.text !== undefined && text.text.trim() === '') continue;
        const next = { index: index + 1, line: text.line + 1, byteOffset: text.endByte };
        if (index >= skipBefore) yield { index, item: jsonlItem(text.text, text.line), next };
        index += 1;
      }
      return;
    }
    let columns: string[] | undefined;
    if (resume !== undefined) {
      const header = await readCsvHeader(source, store);
      if (header === undefined) return;
      if (header.errors.length > 0) {
        yield { index: -1, item: { line: header.line, errors: header.errors }, next: undefined };
        return;
      }
      columns = header.columns;
    }
    for await (const record of readCsvRecords(stream, { startByte, startLine: resume?.line ?? 1 })) {
      if (columns === undefined) {
        const header = headerOf(record);
        if (header.errors.length > 0) {
          yield { index: -1, item: { line: header.line, errors: header.errors }, next: undefined };
          return;
        }
        columns = header.columns;
        continue;
      }
      const fatal = 'error' in record && record.fatal === true;
      const next = fatal ? undefined : { index: index + 1, line: record.nextLine, byteOffset: record.endByte };
      if (index >= skipBefore) yield { index, item: csvItem(record, columns), next };
      if (fatal) return;
      index += 1;
    }
  } finally {
    stream.destroy();
  }
}

function jsonlItem(text: string | undefined, line: number): ManifestItem {
  if (text === undefined)
    return { line, errors: [{ field: '(row)', message: 'line is too long to be a manifest row' }] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { line, errors: [{ field: '(row)', message: `not valid JSON: ${(error as Error).message}` }] };
  }
  return validateManifestRow(raw, line);
}

function csvItem(record: CsvRecord, columns: readonly string[]): ManifestItem {
  if ('error' in record) return { line: record.line, errors: [{ field: '(row)', message: record.error }] };
  const raw = csvRecordToObject(record.fields, columns, manifestColumns);
  if ('error' in raw) return { line: record.line, errors: [{ field: '(row)', message: raw.error }] };
  return validateManifestRow(raw.value, record.line);
}

interface CsvHeader {
  line: number;
  columns: string[];
  errors: ManifestRowError['errors'];
}

function headerOf(record: CsvRecord): CsvHeader {
  if ('error' in record)
    return { line: record.line, columns: [], errors: [{ field: '(header)', message: record.error }] };
  const columns = record.fields.map((name) => name.trim());
  return { line: record.line, columns, errors: csvHeaderErrors(columns, manifestColumns) };
}

/** The CSV header, read from the start of the source (resuming mid-file still needs the names). */
async function readCsvHeader(
  source: FileManifestSource,
  store: ObjectStore | undefined,
): Promise<CsvHeader | undefined> {
  const stream = await openSourceBytes(source, store, 0);
  try {
    for await (const record of readCsvRecords(stream)) return headerOf(record);
    return undefined;
  } finally {
    stream.destroy();
  }
}
