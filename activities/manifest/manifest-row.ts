import { z } from 'zod';
import { tcgaProject } from '../tcga/tcga-projects.js';
import type { TcgaProjectCode } from '../tcga/tcga-projects.js';

// One manifest row names one slide of a run. The same schema checks an inline list, a JSONL file
// and a CSV file, so a row means the same thing whichever way it arrives.

/** Slide ids become workflow ids, store key segments and (sanitised) sample keys. */
export const slideIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export const manifestFields = ['slideId', 'slide', 'report', 'reportUri', 'project', 'mppOverride'] as const;
export type ManifestField = (typeof manifestFields)[number];

/**
 * Report text travels inside Temporal payloads (pages of rows); longer reports belong in a file
 * named by `reportUri`, which keeps a page of rows well under the payload limits.
 */
export const maxInlineReportChars = 64 * 1024;

export interface ManifestRow {
  slideId: string;
  /** A path, a `file://` URI, an `s3://` URI inside the configured store, or a store key. */
  slide: string;
  report?: string;
  reportUri?: string;
  project: TcgaProjectCode;
  /** Microns per pixel at level 0, for slides whose own metadata lacks or misstates it. */
  mppOverride?: number;
}

export interface ManifestFieldError {
  /** A field name, or `(row)` when the row as a whole is wrong (not an object, bad JSON, …). */
  field: string;
  message: string;
}

export interface ManifestRowOk {
  line: number;
  row: ManifestRow;
}

export interface ManifestRowError {
  line: number;
  /** The row's slide id when one could be read, so a run can record the bad row against it. */
  slideId?: string;
  errors: ManifestFieldError[];
}

export type ManifestItem = ManifestRowOk | ManifestRowError;

export function isManifestRowError(item: ManifestItem): item is ManifestRowError {
  return 'errors' in item;
}

const missingOr = (expected: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? 'is required' : `must be ${expected}, got ${describe(issue.input)}`;

const reference = (what: string) =>
  z
    .string({ error: missingOr(`a ${what} reference (a string)`) })
    .trim()
    .min(1, { error: 'is empty' })
    .refine((value) => !hasControlCharacters(value), { error: 'contains control characters' })
    .refine((value) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^(file|s3):\/\//i.test(value), {
      error: 'must be a path, a store key, or a file:// or s3:// URI',
    });

const manifestRowSchema = z
  .strictObject({
    slideId: z.string({ error: missingOr('a string') }).regex(slideIdPattern, {
      error: (issue) =>
        `must be 1–200 letters, digits, '.', '_' or '-', starting with a letter or digit, got ${describe(issue.input)}`,
    }),
    slide: reference('slide'),
    report: z
      .string({ error: missingOr('text (a string)') })
      .refine((value) => value.trim() !== '', { error: 'is empty (leave the field out when there is no report)' })
      .refine((value) => value.length <= maxInlineReportChars, {
        error: `is longer than ${maxInlineReportChars} characters: put the report in a file and give reportUri`,
      })
      .optional(),
    reportUri: reference('report').optional(),
    project: z.string({ error: missingOr('a TCGA project code') }).transform((value, context) => {
      const project = tcgaProject(value);
      if (project === undefined) {
        context.addIssue({
          code: 'custom',
          message: `unknown TCGA project ${JSON.stringify(value)} (expected a code of PathGen's list such as TCGA-LUAD or LUAD)`,
        });
        return z.NEVER;
      }
      return project.code;
    }),
    mppOverride: z
      .number({ error: missingOr('a number of microns per pixel') })
      .positive({ error: 'must be greater than 0' })
      .max(100, { error: 'must be at most 100 microns per pixel' })
      .optional(),
  })
  .superRefine((row, context) => {
    if (row.report !== undefined && row.reportUri !== undefined) {
      context.addIssue({ code: 'custom', path: ['reportUri'], message: 'give either report or reportUri, not both' });
    }
  });

/** Checks one raw row (already decoded from JSON or CSV); `line` is where it came from, 1-based. */
export function validateManifestRow(raw: unknown, line: number): ManifestItem {
  const parsed = manifestRowSchema.safeParse(raw);
  if (parsed.success) return { line, row: stripUndefined(parsed.data) };
  const errors: ManifestFieldError[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        errors.push({ field: key, message: `unknown field (expected ${manifestFields.join(', ')})` });
      }
    } else if (issue.path.length === 0 && issue.code === 'invalid_type') {
      errors.push({ field: '(row)', message: `must be an object, got ${describe(raw)}` });
    } else {
      errors.push({ field: issue.path.map(String).join('.') || '(row)', message: issue.message });
    }
  }
  const slideId = readableSlideId(raw);
  return slideId === undefined ? { line, errors } : { line, slideId, errors };
}

function readableSlideId(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const value = (raw as Record<string, unknown>).slideId;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function stripUndefined(row: ManifestRow): ManifestRow {
  const out: ManifestRow = { slideId: row.slideId, slide: row.slide, project: row.project };
  if (row.report !== undefined) out.report = row.report;
  if (row.reportUri !== undefined) out.reportUri = row.reportUri;
  if (row.mppOverride !== undefined) out.mppOverride = row.mppOverride;
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

function hasControlCharacters(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
