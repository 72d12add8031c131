import type { ReviewGate } from '../contracts/run-settings.js';

// Whether a run's review is far enough for its export: every slide has its share of reviewed
// samples (the gate's samplesPerSlide, or all of a smaller slide's), and the share of reviewed
// samples that are flagged is at most the gate's maxFlagRate. The words are the approveExport
// update's answer, so they say exactly what is missing.

export interface SlideReviewCount {
  slideId: string;
  /** The slide's samples (what its export would hold before reviews). */
  samples: number;
  reviewed: number;
  flagged: number;
}

export interface ReviewGateCheck {
  approvable: boolean;
  message: string;
  reviewed: number;
  required: number;
  flagged: number;
  /** Slides with fewer reviewed samples than they need. */
  slidesShort: number;
}

/** How many slides a refusal names before it says "and N more". */
const namedSlides = 5;

export function reviewGateVerdict(gate: ReviewGate, slides: readonly SlideReviewCount[]): ReviewGateCheck {
  let reviewed = 0;
  let required = 0;
  let flagged = 0;
  const short: string[] = [];
  for (const slide of slides) {
    const needs = Math.min(gate.samplesPerSlide, slide.samples);
    required += needs;
    reviewed += slide.reviewed;
    flagged += slide.flagged;
    if (slide.reviewed < needs) short.push(`${slide.slideId}: ${slide.reviewed} of ${needs} reviewed`);
  }
  const counts = { reviewed, required, flagged, slidesShort: short.length };
  if (short.length > 0) {
    const named = short.slice(0, namedSlides).join(', ');
    const more = short.length > namedSlides ? ` and ${short.length - namedSlides} more` : '';
    return {
      approvable: false,
      message: `the reviewed sample is incomplete: ${short.length} of ${slides.length} slides need more reviews (${named}${more}); the gate asks for ${gate.samplesPerSlide} per slide`,
      ...counts,
    };
  }
  const rate = reviewed === 0 ? 0 : flagged / reviewed;
  const percent = (value: number) => `${(100 * value).toFixed(1)} %`;
  if (rate > gate.maxFlagRate) {
    return {
      approvable: false,
      message: `${flagged} of ${reviewed} reviewed samples are flagged (${percent(rate)}), above the gate's ${percent(gate.maxFlagRate)}: fix or drop samples, or review more`,
      ...counts,
    };
  }
  return {
    approvable: true,
    message: `review complete: ${reviewed} samples reviewed on ${slides.length} slides, ${flagged} flagged (${percent(rate)}, at most ${percent(gate.maxFlagRate)})`,
    ...counts,
  };
}
