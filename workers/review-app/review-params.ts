import { z } from 'zod';

// Everything a request names is checked here before it is used: ids against the shapes pathgen writes
// (so no request text ever becomes part of a store key unchecked) and the run page's filters.

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const runIdSchema = z.string().regex(idPattern, 'a run id is letters, digits, ".", "_" or "-"');
export const slideIdSchema = z.string().regex(idPattern, 'a slide id is letters, digits, ".", "_" or "-"');
/** `<x>_<y>` of the patch's level-0 corner, as slide records name samples. */
export const patchIdSchema = z.string().regex(/^\d{1,9}_\d{1,9}$/, 'a patch id is <x>_<y>');

export const slidesPerPage = 100;

export const runFiltersSchema = z
  .object({
    page: z.coerce.number().int().min(1).max(100_000).default(1),
    project: z
      .string()
      .regex(/^[A-Za-z0-9-]{0,40}$/, 'project is a code such as TCGA-LUAD')
      .optional(),
    status: z.enum(['', 'completed', 'failed']).optional(),
    reason: z
      .string()
      .regex(/^[A-Za-z0-9_-]{0,64}$/, 'reason is a failure type such as NoTissue')
      .optional(),
    q: z.string().max(200, 'the search is at most 200 characters').optional(),
  })
  .strict();

export type RunFilters = z.infer<typeof runFiltersSchema>;

/** Query values with empty strings dropped: an empty filter field means "any". */
export function presentFilters(filters: RunFilters): RunFilters {
  const kept: RunFilters = { page: filters.page };
  if (filters.project) kept.project = filters.project;
  if (filters.status) kept.status = filters.status;
  if (filters.reason) kept.reason = filters.reason;
  if (filters.q?.trim()) kept.q = filters.q.trim();
  return kept;
}

export function filterQuery(filters: RunFilters, page = filters.page): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...presentFilters(filters), page })) {
    if (name === 'page' && value === 1) continue;
    params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The review queue's sample: N per slide (default the gate's, else 5) drawn with a seed. */
export const queueParamsSchema = z
  .object({
    n: z.coerce.number().int().min(1).max(1000).optional(),
    seed: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, 'the seed is up to 32 letters, digits, "_" or "-"')
      .optional(),
    page: z.coerce.number().int().min(1).max(100_000).default(1),
  })
  .strict();

export const defaultQueueSeed = '1';
export const defaultQueueSize = 5;

/** What the review API takes: the sample's export key and one action. */
export const reviewBodySchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('accept'), key: z.string().min(1).max(300) }).strict(),
  z.object({ action: z.literal('flag'), key: z.string().min(1).max(300), reason: z.string().max(500) }).strict(),
  z.object({ action: z.literal('edit'), key: z.string().min(1).max(300), caption: z.string().max(2000) }).strict(),
]);
