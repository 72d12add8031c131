import type { ReviewState } from '../../activities/review/index.js';
import type { ReviewableSample, SlideSummary } from './slide-summaries.js';

// The review queue: a random sample of N reviewable patches per slide, the same for everyone who
// asks with the same seed (a hash of seed and key orders each slide's samples), walked slide by
// slide. With N = the gate's samplesPerSlide, reviewing the whole queue is what the gate asks.

export interface QueueItem extends ReviewableSample {
  slideId: string;
}

export interface QueueParams {
  n: number;
  seed: string;
}

/** FNV-1a, 32 bits: cheap enough for every sample of 4,000 slides on each request, and stable. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

export function slideQueue(slide: SlideSummary, { n, seed }: QueueParams): QueueItem[] {
  return slide.reviewable
    .map((sample) => ({ sample, rank: hash(`${seed}\u0000${sample.key}`) }))
    .sort((a, b) => a.rank - b.rank || (a.sample.key < b.sample.key ? -1 : 1))
    .slice(0, n)
    .map(({ sample }) => ({ slideId: slide.slideId, ...sample }));
}

export function reviewQueue(slides: readonly SlideSummary[], params: QueueParams): QueueItem[] {
  return slides.flatMap((slide) => slideQueue(slide, params));
}

/** The first unreviewed item after `current` (wrapping round), or undefined when all are reviewed. */
export function nextUnreviewed(
  queue: readonly QueueItem[],
  state: ReviewState,
  current?: string,
): QueueItem | undefined {
  const at = current === undefined ? -1 : queue.findIndex((item) => item.key === current);
  for (let step = 1; step <= queue.length; step += 1) {
    const item = queue[(at + step + queue.length) % queue.length]!;
    if (item.key !== current && !state.has(item.key)) return item;
  }
  return undefined;
}

export function queueProgress(queue: readonly QueueItem[], state: ReviewState) {
  let reviewed = 0;
  let flagged = 0;
  for (const item of queue) {
    const status = state.get(item.key)?.status;
    if (status === undefined) continue;
    reviewed += 1;
    if (status === 'flagged') flagged += 1;
  }
  return { queued: queue.length, reviewed, flagged };
}
