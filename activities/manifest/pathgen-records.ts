import { createHash } from 'node:crypto';
import { slideIdPattern } from './manifest-row.js';
import type { ManifestFieldError } from './manifest-row.js';

// A record of the released PathGen-1.6M JSON: a level-0 top-left position on a TCGA slide and its
// caption. Example: { "wsi_id": "TCGA-AA-3844-01Z-00-DX1.bf88…", "position": ["35136", "33344"],
// "caption": "The colon tissue exhibits …", "file_id": "bffacf34-…" }. The README's older sample
// spells the id `WSI_id`, so that spelling is read too. Other keys are ignored.

export interface PathgenRecord {
  wsiId: string;
  x: number;
  y: number;
  caption: string;
  /** GDC file id; '' when the record has none. */
  fileId: string;
}

const digits = /^\d+$/;

export function validatePathgenRecord(value: unknown): { record: PathgenRecord } | { errors: ManifestFieldError[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { errors: [{ field: '(record)', message: 'must be an object' }] };
  }
  const raw = value as Record<string, unknown>;
  const errors: ManifestFieldError[] = [];
  const wsiId = raw.wsi_id ?? raw.WSI_id;
  if (typeof wsiId !== 'string' || wsiId.trim() === '') {
    errors.push({ field: 'wsi_id', message: wsiId === undefined ? 'is required' : 'must be a non-empty string' });
  }
  const position = raw.position;
  let x: number | undefined;
  let y: number | undefined;
  if (!Array.isArray(position) || position.length !== 2) {
    errors.push({ field: 'position', message: 'must be [x, y]: two strings of non-negative integers' });
  } else {
    x = coordinate(position[0]);
    y = coordinate(position[1]);
    if (x === undefined) errors.push({ field: 'position.0', message: 'must be a non-negative integer (as a string)' });
    if (y === undefined) errors.push({ field: 'position.1', message: 'must be a non-negative integer (as a string)' });
  }
  const caption = raw.caption;
  if (typeof caption !== 'string' || caption.trim() === '') {
    errors.push({ field: 'caption', message: caption === undefined ? 'is required' : 'must be a non-empty string' });
  }
  const fileId = raw.file_id ?? '';
  if (typeof fileId !== 'string') errors.push({ field: 'file_id', message: 'must be a string' });
  if (errors.length > 0) return { errors };
  return {
    record: {
      wsiId: wsiId as string,
      x: x as number,
      y: y as number,
      caption: caption as string,
      fileId: fileId as string,
    },
  };
}

/** Strings of digits as released; plain non-negative integers are read too. */
function coordinate(value: unknown): number | undefined {
  const number = typeof value === 'string' && digits.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number >= 0 ? number : undefined;
}

/**
 * The run's slide id for a `wsi_id`: the id itself when it is a valid slide id (every TCGA id is),
 * otherwise a sanitised form with a short hash of the original, so distinct ids stay distinct.
 */
export function slideIdForWsi(wsiId: string): string {
  if (slideIdPattern.test(wsiId)) return wsiId;
  const hash = createHash('sha256').update(wsiId).digest('hex').slice(0, 12);
  const cleaned = wsiId.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return `${cleaned.slice(0, 200 - hash.length - 1)}-${hash}`.replace(/^-/, 'x-');
}
