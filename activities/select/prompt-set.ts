import { createHash } from 'node:crypto';
import { PathgenError } from '../common/errors.js';
import { tcgaProject, type TcgaProjectCode } from '../tcga/tcga-projects.js';
import { attributePrompts, attributePromptsVersion } from './tcga-attribute-prompts.js';

// The prompts one slide is scored against: its project's attribute prompts, then the findings of
// its own report. The released PathGen code appended each slide's findings to a shared list, so
// later slides were scored against earlier slides' reports too; here every slide gets a new,
// deeply frozen set and nothing shared is ever written.

export interface PromptSet {
  readonly project: TcgaProjectCode;
  readonly attributes: readonly string[];
  readonly findings: readonly string[];
  /** attributePromptsVersion of the attribute lists used. */
  readonly version: number;
  /** sha256 (hex) of the canonical JSON of the other four fields: names this exact set. */
  readonly hash: string;
}

export interface PromptSetInput {
  /** A TCGA project code such as `TCGA-LUAD` (case-insensitive, prefix optional). */
  project: string;
  /** Findings extracted from the slide's report; blanks and repeats are dropped. */
  findings?: readonly string[];
}

export function buildPromptSet(input: PromptSetInput): PromptSet {
  const project = tcgaProject(input.project)?.code;
  if (project === undefined) {
    throw new PathgenError('InvalidInput', `unknown TCGA project ${JSON.stringify(input.project)}`, {
      project: input.project,
    });
  }
  const attributes = Object.freeze([...attributePrompts(project)]);
  const findings = Object.freeze(normaliseFindings(input.findings ?? []));
  const version = attributePromptsVersion;
  const hash = createHash('sha256').update(JSON.stringify({ project, version, attributes, findings })).digest('hex');
  return Object.freeze({ project, attributes, findings, version, hash });
}

/**
 * Trimmed, inner whitespace collapsed, empty ones dropped, and repeats dropped ignoring case (the
 * first spelling is kept): a finding repeated would count twice in the finding route's sum.
 */
export function normaliseFindings(findings: readonly string[]): string[] {
  if (!Array.isArray(findings)) {
    throw new PathgenError('InvalidInput', 'findings must be an array of strings', { findings: typeof findings });
  }
  const seen = new Set<string>();
  const result: string[] = [];
  findings.forEach((finding: unknown, position) => {
    if (typeof finding !== 'string') {
      throw new PathgenError('InvalidInput', `finding ${position} is not a string`, { position });
    }
    const text = finding.trim().replace(/\s+/g, ' ');
    const key = text.toLowerCase();
    if (text === '' || seen.has(key)) return;
    seen.add(key);
    result.push(text);
  });
  return result;
}
