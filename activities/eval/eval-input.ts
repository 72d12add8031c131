import { z } from 'zod';
import { PathgenError } from '../common/errors.js';
import { inputProblems } from '../common/input-problems.js';
import { evalReportPrefix as evalReportKeyPrefix } from '../contracts/keys.js';
import { datasetSpecSchema } from './datasets/index.js';

// What `pathgenEval` takes, checked once by the prepare activity (field names in the error).

const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const id = z.string().regex(idPattern, 'letters, digits, . _ - (at most 128), starting with a letter or digit');

/** A patch dataset: one of the nine PathGen definitions pointed at its folder, or any folder / CSV. */
const DatasetSpec = datasetSpecSchema;

const zeroShotTask = z.strictObject({
  dataset: DatasetSpec,
  /** Which split to score (default: test when the dataset has splits, else all samples). */
  split: z.string().min(1).optional(),
  /** Average the class embeddings over all templates (default: PathGen's single first template). */
  ensemble: z.boolean().default(false),
});

const linearProbeTask = z.strictObject({
  dataset: DatasetSpec,
  /** Shots per class; null: every training sample. CLIP_benchmark's usual set by default. */
  shots: z.array(z.number().int().positive().nullable()).min(1).default([1, 2, 4, 8, 16, null]),
  seeds: z.array(z.number().int().nonnegative()).min(1).default([0, 1, 2]),
  validationProportion: z.number().gt(0).lt(1).default(0.2),
});

const slideTask = z.strictObject({
  name: id,
  /** CSV `slide,label,split[,path]`: split ∈ train|val|test; path of the slide file (relative to the CSV). */
  splits: z.string().min(1),
  /** Class names in label order (default: the sorted labels). */
  classes: z.array(z.string().min(1)).min(2).optional(),
  epochs: z.number().int().positive().default(50),
  lr: z.number().positive().default(1e-4),
  weightDecay: z.number().nonnegative().default(1e-5),
  seed: z.number().int().nonnegative().default(0),
  /** Tiling of the slides into patches for features (the tile stage's options). */
  tiling: z
    .strictObject({
      patchSize: z.number().int().min(16).max(8192).default(224),
      level: z.number().int().nonnegative().default(0),
      targetMpp: z.number().positive().optional(),
      minTissueFraction: z.number().min(0).max(1).default(0.5),
      maxCandidates: z.number().int().positive().optional(),
      seed: z.number().int().default(0),
    })
    .prefault({}),
});

export const EvalInput = z
  .strictObject({
    evalId: id,
    /** The CLIP model directory: a store prefix (models/<id>) or a local folder. */
    model: z.string().min(1),
    zeroShot: z.array(zeroShotTask).default([]),
    linearProbe: z.array(linearProbeTask).default([]),
    slideTasks: z.array(slideTask).default([]),
    /** PathGen's protocol scores with logit scale 100 (top-1 does not depend on it). */
    logitScale: z.number().positive().default(100),
    /** Where report.json/md/html and plots go; default `evals/<evalId>/`. */
    reportPrefix: z.string().min(1).optional(),
  })
  .refine(
    (input) => input.zeroShot.length + input.linearProbe.length + input.slideTasks.length > 0,
    'give at least one task (zeroShot, linearProbe or slideTasks)',
  );
export type EvalInput = z.input<typeof EvalInput>;
export type ResolvedEvalInput = z.output<typeof EvalInput>;
export type ZeroShotTask = ResolvedEvalInput['zeroShot'][number];
export type LinearProbeTask = ResolvedEvalInput['linearProbe'][number];
export type SlideTask = ResolvedEvalInput['slideTasks'][number];

export function parseEvalInput(input: unknown): ResolvedEvalInput {
  const parsed = EvalInput.safeParse(input);
  if (!parsed.success) {
    const problems = inputProblems(parsed.error);
    throw new PathgenError('InvalidEvalInput', `invalid evaluation input: ${problems.join('; ')}`, { problems });
  }
  return parsed.data;
}

/** Where the report goes, ending in '/': the input's `reportPrefix`, else `evals/<evalId>/`. */
export function evalReportPrefix(input: ResolvedEvalInput): string {
  return (input.reportPrefix ?? evalReportKeyPrefix(input.evalId)).replace(/\/+$/, '') + '/';
}
