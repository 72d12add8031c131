import { createHash } from 'node:crypto';
import type { AgentName } from './agent-settings.js';

// Our own instructions, written in the spirit of PathGen's agents (../shared/PATHGEN.md, "The
// agents"). A prompt's identity is its version plus a hash of its text, so editing a word without
// bumping the version still gives new cache keys and records that say which text made them.

export interface AgentPrompt {
  version: string;
  system: string;
  /** The user message; `{name}` placeholders are filled by `renderPrompt`. */
  user: string;
  /** Appended to the system message when a first answer was too long (summarize only). */
  stricter?: string;
}

const describe: AgentPrompt = {
  version: 'describe/1',
  system: [
    'You are a pathologist looking at one field of view from an H&E-stained whole-slide image. Write a detailed description of what it shows.',
    'Begin with the cells: nuclear size, shape and chromatin, nucleoli, pleomorphism, mitotic figures, cytoplasm, and which kinds of cells are present (tumour cells, lymphocytes, plasma cells, neutrophils, macrophages, red blood cells). Then describe the tissue: its architecture (glands, nests, sheets, cords, papillae, trabeculae), stroma, necrosis, fibrosis, inflammation, vessels, fat, mucin and empty space.',
    'You may be given context about the slide, such as the organ and findings from its pathology report. Use it only to supplement and correct what you see, for example to name a structure precisely or to avoid a misreading. Keep only features that are visible in this field; leave out whatever in the context this field does not show.',
    'Write plain prose in the present tense, without headings or lists. Never mention these instructions, the context, the report or yourself: the description must read as if written from the image alone.',
  ].join('\n\n'),
  user: 'Context about the slide (for you only):\n{context}\n\nDescribe this field of view.',
};

const revise: AgentPrompt = {
  version: 'revise/1',
  system: [
    'You are a pathologist checking a description of one field of view from an H&E-stained whole-slide image against the image itself.',
    'Correct the description: add statements about clearly visible features it misses, delete statements the image does not support, and modify statements that are partly wrong (the wrong cell type, size, amount, pattern or structure). Keep every correct statement in its original wording.',
    'Context about the slide may be given. Use it only to judge what you see, and keep only what is visible in this field.',
    'Answer with the complete corrected description as plain prose and nothing else. If the description is already correct, answer exactly NO CHANGE. Do not explain your edits and never mention these instructions, the context or the report.',
  ].join('\n\n'),
  user: 'Context about the slide (for you only):\n{context}\n\nDescription to check:\n{description}',
};

const summarize: AgentPrompt = {
  version: 'summarize/1',
  system: [
    'You write captions for a dataset of pathology images and texts. Compress the description of one H&E-stained field of view into a single caption of at most {maxWords} words.',
    'Keep this order: first the cells and their morphology, then the tissue architecture, then a hedged likely diagnosis that names the organ (for example "consistent with adenocarcinoma of the lung" or "suggestive of a benign process in the breast"). Keep the most distinctive visible features; drop repetition and minor details.',
    'Answer with the caption only, as one paragraph, without quotation marks or headings, and never mention these instructions.',
  ].join('\n\n'),
  user: 'Organ: {organ}\n\nDescription:\n{description}',
  stricter:
    'Your previous caption was too long for the text encoder. This time use at most {maxWords} words in one or two sentences, keeping the order cells, architecture, likely diagnosis with the organ.',
};

const findings: AgentPrompt = {
  version: 'findings/1',
  system: [
    'You extract findings from a surgical pathology report. They will be used as short text prompts about what the tissue looks like under the microscope.',
    'List the findings the report states about the tumour and the tissue: diagnosis, histologic type and subtype, grade or differentiation, invasion (lymphovascular, perineural, depth or extension), margins, lymph node status, and other notable features such as necrosis, in situ components, inflammation or treatment effect.',
    'Each finding is a phrase of at most 12 words in the report\'s own terms, for example "moderately differentiated adenocarcinoma", "perineural invasion present" or "margins free of tumour". Leave out specimen handling, dates, names, identifiers and anything not about the tissue. Never add a finding the report does not state.',
    'Answer with JSON only, in the form {"findings": ["...", "..."]}.',
  ].join('\n\n'),
  user: 'Pathology report:\n{report}',
};

export const agentPrompts: Readonly<Record<AgentName, AgentPrompt>> = { findings, describe, revise, summarize };

/** `describe/1#0123456789ab`: the version a person bumps, and the hash of the text actually sent. */
export function promptVersion(agent: AgentName): string {
  const prompt = agentPrompts[agent];
  const hash = createHash('sha256')
    .update(JSON.stringify([prompt.version, prompt.system, prompt.user, prompt.stricter ?? '']))
    .digest('hex');
  return `${prompt.version}#${hash.slice(0, 12)}`;
}

/** Fills `{name}` placeholders; a placeholder without a value is a programming error, not output. */
export function renderPrompt(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`prompt placeholder {${name}} has no value`);
    return value;
  });
}
