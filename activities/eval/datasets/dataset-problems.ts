import { PathgenError } from '../../common/errors.js';

// Dataset problems are gathered and reported together (a user fixing a CSV wants every bad row at
// once, not one per run), but only the first few are spelled out so a message stays readable and a
// Temporal failure stays small.

export const maxListedProblems = 20;

export interface DatasetProblem {
  /** 1-based line of a CSV file, when the problem is a row. */
  line?: number;
  /** The file or folder concerned, when not the source itself. */
  path?: string;
  message: string;
}

export function invalidDataset(message: string, details: Record<string, unknown>): PathgenError<'InvalidDataset'> {
  return new PathgenError('InvalidDataset', message, details);
}

/**
 * Throws one 'InvalidDataset' error for `problems` found in `source`: the count, the first
 * `maxListedProblems` in the message and in `details.problems`.
 */
export function throwProblems(source: string, summary: string, problems: readonly DatasetProblem[]): never {
  const listed = problems.slice(0, maxListedProblems);
  const more = problems.length - listed.length;
  const lines = listed.map((problem) => `  ${describeProblem(problem)}`);
  if (more > 0) lines.push(`  … and ${more} more`);
  throw invalidDataset(`${source}: ${problems.length} ${summary}:\n${lines.join('\n')}`, {
    source,
    count: problems.length,
    problems: listed.map((problem) => ({ ...problem })),
  });
}

function describeProblem(problem: DatasetProblem): string {
  const where = [problem.line === undefined ? undefined : `line ${problem.line}`, problem.path]
    .filter((part) => part !== undefined)
    .join(' ');
  return where === '' ? problem.message : `${where}: ${problem.message}`;
}
