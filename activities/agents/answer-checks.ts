import type { AnswerCheck } from './model-call.js';
import { findingsAnswer, firstIssue, parseJsonAnswer, proseAnswer, proseProblem } from './output-validation.js';

// What each agent accepts as an answer, built on the checks of output-validation.ts.

export const findingsJsonSchema = {
  name: 'findings',
  schema: {
    type: 'object',
    properties: { findings: { type: 'array', items: { type: 'string' } } },
    required: ['findings'],
    additionalProperties: false,
  },
};

export function checkProse(maxChars: number): AnswerCheck<string> {
  const schema = proseAnswer(maxChars);
  return (content) => {
    const parsed = schema.safeParse(content);
    return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: firstIssue(parsed.error) };
  };
}

/** "NO CHANGE" is a revision: the description stands as it is. */
export function checkRevision(description: string, maxChars: number): AnswerCheck<string> {
  const prose = checkProse(maxChars);
  return (content) =>
    /^\W*no changes?(?: (?:needed|required|necessary))?\W*$/i.test(content)
      ? { ok: true, value: description }
      : prose(content);
}

/** A caption, without the quotation marks or "Caption:" label models like to add. */
export function checkCaption(maxChars: number): AnswerCheck<string> {
  const prose = checkProse(maxChars);
  return (content) =>
    prose(
      content
        .trim()
        .replace(/^(?:\*\*)?caption(?:\*\*)?\s*:\s*/i, '')
        .replace(/^["“'](.*)["”']$/s, '$1')
        .replace(/\s*\n\s*/g, ' '),
    );
}

/** A JSON answer `{"findings": [...]}` (or a bare array), found in the text if need be. */
export const checkFindings: AnswerCheck<string[]> = (content) => {
  const json = parseJsonAnswer(content);
  if (json === undefined) {
    const problem = content.trim() === '' ? 'empty answer' : proseProblem(content);
    return { ok: false, reason: `no JSON object in the answer${problem ? ` (${problem})` : ''}` };
  }
  const parsed = findingsAnswer.safeParse(Array.isArray(json) ? { findings: json } : json);
  if (!parsed.success) return { ok: false, reason: firstIssue(parsed.error) };
  const problem = proseProblem(parsed.data.findings.join('. '));
  return problem ? { ok: false, reason: problem } : { ok: true, value: parsed.data.findings };
};
