import path from 'node:path';
import { z } from 'zod';
import { defaultTemplate, templateSchema } from './dataset-definition.js';
import type { DatasetDefinition } from './dataset-definition.js';
import { invalidDataset } from './dataset-problems.js';
import type { DatasetSample, DatasetSplit } from './dataset-samples.js';
import { loadImageFolder } from './image-folder.js';
import { pathgenDataset } from './pathgen-datasets.js';
import { loadSampleCsv } from './sample-csv.js';

// From what a user writes (a definition id, a folder or a CSV, optional class names and templates)
// to everything zero-shot and linear-probe evaluation need. Class names for the prompts come from,
// in order: `classes` (one per class, in class-index order), the definition, the labels themselves.
// Templates: `templates`, the definition's, or PathGen's default.

export const datasetSpecSchema = z
  .object({
    /** One of the nine PathGen dataset ids (pathgen-datasets.ts). */
    definition: z.string().trim().min(1).optional(),
    /** A folder of class folders (optionally inside train/val/test folders). */
    folder: z.string().trim().min(1).optional(),
    /** A CSV with path,label[,split]. */
    csv: z.string().trim().min(1).optional(),
    /** Prompt class names in class-index order (overrides the definition's). */
    classes: z.array(z.string().trim().min(1)).min(2).optional(),
    /** Prompt templates with {class}; the first is used unless ensembling. */
    templates: z.array(templateSchema).min(1).optional(),
  })
  .strict()
  .refine((spec) => (spec.folder === undefined) !== (spec.csv === undefined), {
    message: 'give exactly one of folder and csv',
  });

export type DatasetSpec = z.input<typeof datasetSpecSchema>;

/** Where samples without a split go. */
export type SplitName = DatasetSplit | 'all';

export interface ResolvedDataset {
  /** The definition id, or a kebab-case name derived from the folder or CSV file name. */
  id: string;
  displayName: string;
  definition?: string;
  source: { kind: 'folder' | 'csv'; path: string };
  /** Class labels (folder names, CSV labels) in class-index order. */
  labels: string[];
  /** Prompt class names, same order. */
  classNames: string[];
  templates: string[];
  /** Every sample, sorted by path. */
  samples: DatasetSample[];
  /** The samples of each split present, sorted by path; samples without a split are under 'all'. */
  splits: Partial<Record<SplitName, DatasetSample[]>>;
}

export async function resolveDataset(input: DatasetSpec): Promise<ResolvedDataset> {
  const parsed = datasetSpecSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(spec)'}: ${issue.message}`);
    throw invalidDataset(`invalid dataset spec: ${problems.join('; ')}`, { problems });
  }
  const spec = parsed.data;
  const definition: DatasetDefinition | undefined =
    spec.definition === undefined ? undefined : pathgenDataset(spec.definition);
  const sourcePath = path.resolve(spec.folder ?? spec.csv ?? '');
  const loaded =
    spec.folder !== undefined
      ? await loadImageFolder(sourcePath, { definition })
      : await loadSampleCsv(sourcePath, { definition });

  const classNames = spec.classes ?? definition?.classes.map((entry) => entry.name) ?? loaded.classes;
  if (classNames.length !== loaded.classes.length) {
    throw invalidDataset(
      `${sourcePath}: ${classNames.length} class names for ${loaded.classes.length} classes ` +
        `(${loaded.classes.map((label) => JSON.stringify(label)).join(', ')}, in class-index order)`,
      { source: sourcePath, classNames, labels: loaded.classes },
    );
  }
  const repeated = classNames.filter((name, index) => classNames.indexOf(name) !== index);
  if (repeated.length > 0) {
    throw invalidDataset(`${sourcePath}: class names appear twice: ${repeated.join(', ')}`, {
      source: sourcePath,
      repeated,
    });
  }

  const baseName = path.basename(sourcePath, spec.csv !== undefined ? path.extname(sourcePath) : '');
  const splits: Partial<Record<SplitName, DatasetSample[]>> = {};
  for (const sample of loaded.samples) (splits[sample.split ?? 'all'] ??= []).push(sample);
  return {
    id: definition?.id ?? kebabName(baseName),
    displayName: definition?.displayName ?? baseName,
    ...(definition ? { definition: definition.id } : {}),
    source: { kind: spec.folder !== undefined ? 'folder' : 'csv', path: sourcePath },
    labels: loaded.classes,
    classNames,
    templates: spec.templates ?? definition?.templates ?? [defaultTemplate],
    samples: loaded.samples,
    splits,
  };
}

/**
 * The samples to score for zero-shot: the test split when there is one, else the unsplit samples
 * (a release without an official split, such as LC25000 or Osteo, is evaluated whole).
 */
export function evaluationSamples(dataset: ResolvedDataset): DatasetSample[] {
  const samples = dataset.splits.test ?? dataset.splits.all;
  if (samples === undefined) {
    throw invalidDataset(`${dataset.source.path}: no test split and no unsplit samples to evaluate`, {
      source: dataset.source.path,
      splits: Object.keys(dataset.splits),
    });
  }
  return samples;
}

function kebabName(name: string): string {
  const kebab = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return kebab === '' ? 'dataset' : kebab;
}
