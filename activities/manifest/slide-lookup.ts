import type { ObjectStore } from '../store/object-store.js';
import { tcgaProject } from '../tcga/tcga-projects.js';
import type { TcgaProjectCode } from '../tcga/tcga-projects.js';
import { readCsvRecords } from './csv-records.js';
import { csvHeaderErrors, csvRecordToObject } from './csv-table.js';
import type { CsvColumnSpec } from './csv-table.js';
import type { ManifestFieldError } from './manifest-row.js';
import { openSourceBytes, sourceFormat } from './manifest-source.js';
import type { FileManifestSource } from './manifest-source.js';
import { readTextLines } from './text-lines.js';

// Materialize mode's map from a released record's `wsi_id` to where the lab keeps that slide: a
// CSV with a `wsi_id,slide[,project]` header or JSONL lines { "wsi_id", "slide", "project"? }.
// `slide` is any slide reference (path, file://, s3://, store key). A few thousand slides, so the
// whole map is held in memory.

export interface LookupSlide {
  slide: string;
  project?: TcgaProjectCode;
}

export interface SlideLookup {
  slides: Map<string, LookupSlide>;
  /** Bad lines, with their 1-based line number and field; the good lines are in `slides`. */
  errors: Array<{ line: number; errors: ManifestFieldError[] }>;
}

const lookupColumns: CsvColumnSpec = { required: ['wsi_id', 'slide'], optional: ['project'] };

export async function readSlideLookup(
  source: FileManifestSource,
  options: { store?: ObjectStore } = {},
): Promise<SlideLookup> {
  const lookup: SlideLookup = { slides: new Map(), errors: [] };
  const stream = await openSourceBytes(source, options.store);
  try {
    if (sourceFormat(source) === 'jsonl') {
      for await (const { line, text } of readTextLines(stream)) {
        if (text !== undefined && text.trim() === '') continue;
        add(lookup, line, parseJsonLine(text));
      }
      return lookup;
    }
    let columns: string[] | undefined;
    for await (const record of readCsvRecords(stream)) {
      if ('error' in record) {
        lookup.errors.push({ line: record.line, errors: [{ field: '(row)', message: record.error }] });
        if (record.fatal === true || columns === undefined) break;
        continue;
      }
      if (columns === undefined) {
        columns = record.fields.map((name) => name.trim());
        const headerErrors = csvHeaderErrors(columns, lookupColumns);
        if (headerErrors.length > 0) {
          lookup.errors.push({ line: record.line, errors: headerErrors });
          break;
        }
        continue;
      }
      const raw = csvRecordToObject(record.fields, columns, lookupColumns);
      add(lookup, record.line, 'error' in raw ? raw.error : raw.value);
    }
    return lookup;
  } finally {
    stream.destroy();
  }
}

function parseJsonLine(text: string | undefined): unknown {
  if (text === undefined) return 'line is too long';
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return `not valid JSON: ${(error as Error).message}`;
  }
}

/** Adds one line's entry, or its errors; `raw` is a message when the line could not be read at all. */
function add(lookup: SlideLookup, line: number, raw: unknown): void {
  if (typeof raw === 'string') {
    lookup.errors.push({ line, errors: [{ field: '(row)', message: raw }] });
    return;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    lookup.errors.push({ line, errors: [{ field: '(row)', message: 'must be an object' }] });
    return;
  }
  const { wsi_id: wsiId, slide, project, ...rest } = raw as Record<string, unknown>;
  const errors: ManifestFieldError[] = Object.keys(rest).map((field) => ({
    field,
    message: 'unknown field (expected wsi_id, slide, project)',
  }));
  if (typeof wsiId !== 'string' || wsiId.trim() === '') errors.push({ field: 'wsi_id', message: 'is required' });
  if (typeof slide !== 'string' || slide.trim() === '') errors.push({ field: 'slide', message: 'is required' });
  const code = typeof project === 'string' ? tcgaProject(project)?.code : undefined;
  if (project !== undefined && code === undefined) {
    errors.push({ field: 'project', message: `unknown TCGA project ${JSON.stringify(project)}` });
  }
  if (errors.length > 0) {
    lookup.errors.push({ line, errors });
    return;
  }
  const entry: LookupSlide =
    code === undefined ? { slide: (slide as string).trim() } : { slide: (slide as string).trim(), project: code };
  const existing = lookup.slides.get(wsiId as string);
  if (existing !== undefined && existing.slide !== entry.slide) {
    lookup.errors.push({
      line,
      errors: [{ field: 'wsi_id', message: `${wsiId as string} is already mapped to ${existing.slide}` }],
    });
    return;
  }
  lookup.slides.set(wsiId as string, entry);
}
