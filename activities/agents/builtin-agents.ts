import { describeMeasurements, findContradiction, measurePatch, measurementsVersion } from '../histology/index.js';
import type { PatchMeasurements } from '../histology/index.js';
import { shortenToBudget } from './caption-budget.js';
import type { CountTokens, Shortening } from './caption-budget.js';
import type { SentenceEdits } from './sentence-diff.js';
import { splitSentences } from './sentences.js';
import type { SlideContext } from './slide-context.js';

// The built-in backend: no model, every statement traceable to a measurement of the pixels or to
// the slide's project and findings (activities/histology). Describe turns measurements into
// sentences; revise deletes sentences the measurements or the context contradict; summarize keeps
// whole sentences that fit the token budget.

export const builtinModel = 'builtin';
export const builtinVersions = {
  describe: `builtin-describe/1+${measurementsVersion}`,
  revise: `builtin-revise/1+${measurementsVersion}`,
  summarize: 'builtin-summarize/1',
} as const;

export function builtinDescribe(measurements: PatchMeasurements, context: SlideContext): string {
  const statements = describeMeasurements(measurements, histologyContext(context));
  return statements.map((statement) => statement.text.trim()).join(' ');
}

export function builtinRevise(
  description: string,
  measurements: PatchMeasurements,
  context: SlideContext,
): { revised: string; edits: SentenceEdits } {
  const kept: string[] = [];
  const reasons: { sentence: string; reason: string }[] = [];
  for (const sentence of splitSentences(description)) {
    const reason = findContradiction(sentence, measurements, histologyContext(context));
    if (reason === undefined) kept.push(sentence);
    else reasons.push({ sentence, reason });
  }
  return {
    revised: kept.join(' '),
    edits: { added: [], deleted: reasons.map((r) => r.sentence), modified: [], reasons },
  };
}

export function builtinSummarize(
  description: string,
  budget: number,
  countTokens: CountTokens,
  organ?: string,
): { caption: string; shortened: Shortening } {
  const whole = description.trim();
  const caption = shortenToBudget(whole, budget, countTokens, organ ? mentions(organ) : undefined);
  return { caption, shortened: caption === whole ? 'none' : 'extractive' };
}

export function measure(pixels: Parameters<typeof measurePatch>[0], mpp: number | undefined): PatchMeasurements {
  return measurePatch(pixels, mpp === undefined ? {} : { mpp });
}

function histologyContext(context: SlideContext): { project?: string; findings?: readonly string[] } {
  return {
    ...(context.project ? { project: context.project } : {}),
    ...(context.findings ? { findings: context.findings } : {}),
  };
}

function mentions(word: string): (sentence: string) => boolean {
  const needle = word.toLowerCase();
  return (sentence) => sentence.toLowerCase().includes(needle);
}
