import { tcgaProject } from '../tcga/tcga-projects.js';

// What the model is told about the slide a patch comes from: the organ and cancer type of its
// project, and the findings of its report. Only ever supplementary: the prompts say so.

export interface SlideContext {
  /** TCGA project code ("TCGA-LUAD") or a lab's own project name. */
  project?: string | undefined;
  findings?: readonly string[] | undefined;
}

export function organOf(project: string | undefined): string | undefined {
  return project ? tcgaProject(project)?.organ : undefined;
}

export function contextText(context: SlideContext): string {
  const lines: string[] = [];
  const known = context.project ? tcgaProject(context.project) : undefined;
  if (known) {
    lines.push(`Organ: ${known.organ}.`);
    lines.push(`Diagnosis of the slide's case: ${known.cancer}.`);
  } else if (context.project) {
    lines.push(`Project: ${context.project}.`);
  }
  const findings = (context.findings ?? []).map((f) => f.trim()).filter((f) => f !== '');
  if (findings.length > 0) lines.push(`Findings from the pathology report: ${findings.join('; ')}.`);
  return lines.length > 0 ? lines.join('\n') : 'None.';
}
