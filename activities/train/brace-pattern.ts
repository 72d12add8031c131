import { PathgenError } from '../common/errors.js';

// Shard lists travel as brace patterns (`shard-{000000..000012}.tar`), the form WebDataset and
// open_clip's --train-data take. Expanding them here lets us stage and hash each shard.

const group = /\{([^{}]*)\}/;

/** Every name a pattern stands for, in order: `{a..b}` numeric ranges (zero padding kept) and `{x,y}` lists. */
export function expandBracePattern(pattern: string, limit = 1_000_000): string[] {
  const match = group.exec(pattern);
  if (!match) return [pattern];
  const [whole, body = ''] = match;
  const head = pattern.slice(0, match.index);
  const rest = pattern.slice(match.index + whole.length);
  const range = /^(\d+)\.\.(\d+)$/.exec(body);
  let choices: string[];
  if (range) {
    const [, from = '', to = ''] = range;
    const start = Number(from);
    const end = Number(to);
    if (end < start) throw invalid(pattern, `the range {${body}} runs backwards`);
    if (end - start + 1 > limit) throw invalid(pattern, `the range {${body}} has more than ${limit} values`);
    const width = from.length === to.length ? from.length : 0;
    choices = Array.from({ length: end - start + 1 }, (_, i) => String(start + i).padStart(width, '0'));
  } else if (body.includes(',')) {
    choices = body.split(',');
  } else {
    throw invalid(pattern, `{${body}} is neither a range {a..b} nor a list {x,y}`);
  }
  const tails = expandBracePattern(rest, limit);
  const names: string[] = [];
  for (const choice of choices) {
    for (const tail of tails) {
      names.push(`${head}${choice}${tail}`);
      if (names.length > limit) throw invalid(pattern, `it stands for more than ${limit} names`);
    }
  }
  return names;
}

function invalid(pattern: string, why: string): PathgenError {
  return new PathgenError('InvalidTrainInput', `shard pattern ${pattern}: ${why}`, { pattern });
}
