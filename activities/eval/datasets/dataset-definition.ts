import { z } from 'zod';
import { PathgenError } from '../../common/errors.js';

// A zero-shot dataset definition: how a public release names its classes (folder names or label
// values), the class names that go into prompts, and the prompt templates. Definitions are checked
// when loaded so that a label can never point at two classes and every template can be filled.

/** The placeholder a template's class name replaces. */
export const classPlaceholder = '{class}';

/** The template used when neither a definition nor the caller gives one (PathGen's style). */
export const defaultTemplate = 'An H&E image of {class}';

export interface DatasetClass {
  /** The folder name or label value the public release uses for this class. */
  label: string;
  /** Other spellings of the label met in the wild (accepted as folder names and CSV labels). */
  aliases: string[];
  /** The class name put into the prompt templates. */
  name: string;
}

export interface DatasetDefinition {
  /** Kebab-case id, used in file names and specs. */
  id: string;
  displayName: string;
  /** In class-index order. */
  classes: DatasetClass[];
  /** The first is the protocol's single template; the others are for optional prompt ensembling. */
  templates: string[];
  /** Which part of the release is the evaluation set. */
  testSplit: string;
  source: string;
  /** Label choices and how to lay the release out as folders or a CSV. */
  note: string;
}

export const templateSchema = z
  .string()
  .trim()
  .min(1, 'a template must not be empty')
  .refine((template) => template.includes(classPlaceholder), {
    message: `a template must contain ${classPlaceholder}`,
  });

const indexPattern = /^(0|[1-9][0-9]*)$/;

/** A cell such as `3` that can only mean a class index. */
export function parseClassIndex(text: string): number | undefined {
  return indexPattern.test(text) ? Number(text) : undefined;
}

const classSchema = z.object({
  label: z.string().trim().min(1),
  aliases: z.array(z.string().trim().min(1)).default([]),
  name: z.string().trim().min(1),
});

export const datasetDefinitionSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be kebab-case'),
    displayName: z.string().trim().min(1),
    classes: z.array(classSchema).min(2, 'a dataset needs at least two classes'),
    templates: z.array(templateSchema).min(1),
    testSplit: z.string().trim().min(1),
    source: z.url(),
    note: z.string().trim().min(1),
  })
  .strict()
  .superRefine((definition, context) => {
    const names = new Set<string>();
    // Every spelling (label, alias, class name) must point at exactly one class, and one that looks
    // like an index must be that class's index, so a CSV cell resolves the same way whatever it is.
    const owner = new Map<string, number>();
    definition.classes.forEach((entry, index) => {
      if (names.has(entry.name)) {
        context.addIssue({
          code: 'custom',
          path: ['classes', index, 'name'],
          message: `class name "${entry.name}" appears twice`,
        });
      }
      names.add(entry.name);
      for (const spelling of new Set([entry.label, ...entry.aliases, entry.name])) {
        const other = owner.get(spelling);
        if (other !== undefined && other !== index) {
          context.addIssue({
            code: 'custom',
            path: ['classes', index],
            message: `"${spelling}" names both class ${other} and class ${index}`,
          });
        }
        owner.set(spelling, index);
        const asIndex = parseClassIndex(spelling);
        if (asIndex !== undefined && asIndex !== index) {
          context.addIssue({
            code: 'custom',
            path: ['classes', index],
            message: `"${spelling}" reads as class index ${asIndex} but belongs to class ${index}`,
          });
        }
      }
    });
    if (new Set(definition.templates).size !== definition.templates.length) {
      context.addIssue({ code: 'custom', path: ['templates'], message: 'a template appears twice' });
    }
  });

export type DatasetDefinitionInput = z.input<typeof datasetDefinitionSchema>;

/** The definition, checked; a PathgenError 'InvalidDataset' lists every problem. */
export function validateDatasetDefinition(raw: unknown): DatasetDefinition {
  const parsed = datasetDefinitionSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(definition)'}: ${issue.message}`);
  const id = typeof raw === 'object' && raw !== null && 'id' in raw ? String(raw.id) : '(unnamed)';
  throw new PathgenError('InvalidDataset', `dataset definition ${id} is invalid: ${problems.join('; ')}`, {
    definition: id,
    problems,
  });
}

/** The prompt for one class: every `{class}` in the template replaced by the class name. */
export function fillTemplate(template: string, className: string): string {
  return template.split(classPlaceholder).join(className);
}

/** prompts[c][t]: class c under template t. */
export function classPrompts(templates: readonly string[], classNames: readonly string[]): string[][] {
  return classNames.map((name) => templates.map((template) => fillTemplate(template, name)));
}
