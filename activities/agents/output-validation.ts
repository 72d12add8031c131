import { z } from 'zod';
import { sentenceWords } from './sentences.js';

// What counts as an answer. A model can answer with nothing, refuse, talk about its instructions
// instead of the image, loop on the same phrase, or run on past any sensible length; each of these
// is `ModelOutputInvalid` with the reason below, never text in the dataset.

const refusalStart =
  /^\W*(?:i['’]m sorry|i am sorry|sorry[,.!]|i apologi[sz]e|i cannot|i can['’]t|i can not|i['’]m unable|i am unable|i['’]m not able|i am not able|unfortunately,? (?:i|as))/i;
const refusalAnywhere =
  /\bi (?:cannot|can['’]t|can not|am unable to|['’]m unable to|am not able to) (?:provide|assist|help|describe|analy[sz]e|view|see|access|interpret|comply|determine|identify)\b/i;
const aboutInstructions =
  /\b(?:as an ai|an ai (?:language )?model|as a language model|the (?:provided|given|additional|extra|supplied) (?:context|information|report|findings)|the context (?:provided|given|says|states|mentions|indicates|suggests)|(?:these|the|your|my) instructions?|the (?:pathology )?report (?:says|states|mentions|indicates|describes|suggests)|according to the (?:context|report))\b/i;

/** N-gram length and the share of repeated n-grams above which an answer is a runaway loop. */
export const repetitionNgram = 4;
export const repetitionThreshold = 0.5;
/** Shorter answers are not judged for repetition: a few repeated words there mean nothing. */
const repetitionMinWords = 24;

/** Share of an answer's word n-grams that repeat an earlier one: 0 for none, towards 1 for a loop. */
export function repeatedNgramRatio(text: string, n = repetitionNgram): number {
  const words = sentenceWords(text);
  const total = words.length - n + 1;
  if (total <= 0) return 0;
  const seen = new Set<string>();
  for (let i = 0; i < total; i++) seen.add(words.slice(i, i + n).join(' '));
  return 1 - seen.size / total;
}

/** Why a prose answer is unusable, or undefined when it is fine. */
export function proseProblem(text: string): string | undefined {
  if (refusalStart.test(text) || refusalAnywhere.test(text)) return 'the model refused';
  if (aboutInstructions.test(text)) return 'the answer talks about the instructions or the context';
  if (/(.)\1{39,}/su.test(text)) return 'runaway repetition of one character';
  if (sentenceWords(text).length >= repetitionMinWords) {
    const ratio = repeatedNgramRatio(text);
    if (ratio > repetitionThreshold)
      return `runaway repetition (${Math.round(ratio * 100)}% of ${repetitionNgram}-word sequences repeat)`;
  }
  return undefined;
}

/** A free-text answer: trimmed, non-empty, at most `maxChars`, and none of the problems above. */
export function proseAnswer(maxChars: number) {
  return z
    .string()
    .trim()
    .min(1, 'empty answer')
    .max(maxChars, `over-long answer (more than ${maxChars} characters)`)
    .superRefine((text, ctx) => {
      const problem = proseProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

export const maxFindings = 30;
export const maxFindingChars = 200;

export const findingsAnswer = z.strictObject({
  findings: z
    .array(
      z
        .string()
        .trim()
        .min(1, 'empty finding')
        .max(maxFindingChars, `over-long finding (more than ${maxFindingChars} characters)`),
    )
    .max(maxFindings, `more than ${maxFindings} findings`),
});

/** The JSON object the findings agent answered with, from the whole answer or from text around it. */
export function parseJsonAnswer(text: string): unknown {
  const trimmed = text.trim();
  const attempts = [trimmed];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(trimmed)?.[1];
  if (fenced) attempts.push(fenced.trim());
  const first = trimmed.indexOf('{');
  const last = trimmed.lastIndexOf('}');
  if (first >= 0 && last > first) attempts.push(trimmed.slice(first, last + 1));
  for (const attempt of attempts) {
    try {
      return JSON.parse(attempt) as unknown;
    } catch {
      // Try the next reading of the answer.
    }
  }
  return undefined;
}

/** The reason to report for a failed parse: the first issue's message. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid answer';
  const where = issue.path.length > 0 ? ` at ${issue.path.map(String).join('.')}` : '';
  return `${issue.message}${where}`;
}
