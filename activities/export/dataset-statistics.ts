import { PathgenError } from '../common/errors.js';
import { slideKeyPrefix } from './sample-key.js';

// Counts and caption-length figures for the dataset card, gathered one sample at a time while the
// export streams, in memory that does not grow with the run: lengths are small integers, so a
// histogram gives exact percentiles; slides are counted without a set of every slide id, because
// samples arrive in key order and every key of a slide starts with the slide's key prefix
// (`sampleKey`): once a key passes the prefix's range the slide can never come back, so only the
// slides whose prefixes the current key starts with (a handful: slide "s" and slide "s_1") are
// remembered. The whole state is a small JSON value (`state()`), which an interrupted export
// carries in its checkpoint and a resumed one starts from (`DatasetStatistics.fromState`).

export interface LengthSummary {
  min: number;
  mean: number;
  /** Nearest-rank percentiles: the smallest length with at least p % of captions at or below it. */
  p50: number;
  p95: number;
  max: number;
}

export interface TokenSummary extends LengthSummary {
  /** The context length captions are compared with (CLIP's 77). */
  limit: number;
  /** Captions longer than `limit` tokens: CLIP training truncates them. */
  overLimit: number;
  overLimitShare: number;
}

export interface ProjectCount {
  project: string;
  slides: number;
  samples: number;
}

export interface DatasetStatisticsSummary {
  samples: number;
  slides: number;
  /** By sample count, most first; samples without a project count as "unknown". */
  projects: ProjectCount[];
  /** null when there are no samples. */
  captionWords: LengthSummary | null;
  /** null when there are no samples or no token counter was given. */
  captionTokens: TokenSummary | null;
}

/**
 * Everything the statistics hold, as JSON: its size grows with the distinct caption lengths, the
 * projects and the nesting of slide ids, never with the samples or slides.
 */
export interface DatasetStatisticsState {
  /** [length, captions of that length], ascending. */
  words: Array<[number, number]>;
  tokens: Array<[number, number]>;
  slides: number;
  /** [project, slides, samples]. */
  projects: Array<[string, number, number]>;
  /** Slides whose samples may still come: [slideId, projects seen for it]. */
  open: Array<[string, string[]]>;
}

export const unknownProject = 'unknown';

interface OpenSlide {
  slideId: string;
  prefix: string;
  projects: Set<string>;
}

export class DatasetStatistics {
  private words = new Histogram();
  private tokens = new Histogram();
  private slides = 0;
  private readonly projects = new Map<string, { slides: number; samples: number }>();
  private open: OpenSlide[] = [];

  constructor(
    private readonly countTokens?: (text: string) => number,
    private readonly tokenLimit = 77,
  ) {}

  static fromState(
    state: DatasetStatisticsState,
    countTokens?: (text: string) => number,
    tokenLimit = 77,
  ): DatasetStatistics {
    const statistics = new DatasetStatistics(countTokens, tokenLimit);
    statistics.words = Histogram.fromPairs(state.words);
    statistics.tokens = Histogram.fromPairs(state.tokens);
    statistics.slides = state.slides;
    for (const [project, slides, samples] of state.projects) statistics.projects.set(project, { slides, samples });
    statistics.open = state.open.map(([slideId, projects]) => ({
      slideId,
      prefix: slideKeyPrefix(slideId),
      projects: new Set(projects),
    }));
    return statistics;
  }

  /** Samples must come in ascending key order, each key starting with its slide's key prefix. */
  add(sample: { key: string; slideId: string; project?: string; caption: string }): void {
    const slide = this.openSlide(sample.key, sample.slideId);
    const name = sample.project ?? unknownProject;
    let project = this.projects.get(name);
    if (project === undefined) {
      project = { slides: 0, samples: 0 };
      this.projects.set(name, project);
    }
    if (!slide.projects.has(name)) {
      slide.projects.add(name);
      project.slides += 1;
    }
    project.samples += 1;
    this.words.add(countWords(sample.caption));
    if (this.countTokens !== undefined) this.tokens.add(this.countTokens(sample.caption));
  }

  state(): DatasetStatisticsState {
    return {
      words: this.words.pairs(),
      tokens: this.tokens.pairs(),
      slides: this.slides,
      projects: [...this.projects].map(([project, { slides, samples }]) => [project, slides, samples]),
      open: this.open.map(({ slideId, projects }) => [slideId, [...projects]]),
    };
  }

  summary(): DatasetStatisticsSummary {
    const projects = [...this.projects]
      .map(([project, { slides, samples }]) => ({ project, slides, samples }))
      .sort((a, b) => b.samples - a.samples || (a.project < b.project ? -1 : 1));
    const tokens = this.tokens.summary();
    return {
      samples: this.words.count,
      slides: this.slides,
      projects,
      captionWords: this.words.summary(),
      captionTokens:
        tokens === null
          ? null
          : {
              ...tokens,
              limit: this.tokenLimit,
              overLimit: this.tokens.countAbove(this.tokenLimit),
              overLimitShare: this.tokens.countAbove(this.tokenLimit) / this.tokens.count,
            },
    };
  }

  /** Forgets the slides `key` has passed, and finds or counts the sample's own. */
  private openSlide(key: string, slideId: string): OpenSlide {
    const prefix = slideKeyPrefix(slideId);
    if (!key.startsWith(prefix)) {
      throw new PathgenError(
        'InvalidInput',
        `sample key ${key} does not start with ${prefix}, its slide's key prefix`,
        {
          key,
          slideId,
        },
      );
    }
    this.open = this.open.filter((slide) => key.startsWith(slide.prefix));
    let slide = this.open.find((candidate) => candidate.slideId === slideId);
    if (slide === undefined) {
      slide = { slideId, prefix, projects: new Set() };
      this.open.push(slide);
      this.slides += 1;
    }
    return slide;
  }
}

export function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/u).length;
}

class Histogram {
  count = 0;
  private sum = 0;
  private readonly counts = new Map<number, number>();

  static fromPairs(pairs: ReadonlyArray<readonly [number, number]>): Histogram {
    const histogram = new Histogram();
    for (const [value, count] of pairs) histogram.add(value, count);
    return histogram;
  }

  add(value: number, times = 1): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + times);
    this.count += times;
    this.sum += value * times;
  }

  pairs(): Array<[number, number]> {
    return [...this.counts].sort(([a], [b]) => a - b);
  }

  countAbove(limit: number): number {
    let above = 0;
    for (const [value, count] of this.counts) if (value > limit) above += count;
    return above;
  }

  summary(): LengthSummary | null {
    if (this.count === 0) return null;
    const values = [...this.counts.keys()].sort((a, b) => a - b);
    const percentile = (p: number) => {
      const rank = Math.max(1, Math.ceil((p / 100) * this.count));
      let seen = 0;
      for (const value of values) {
        seen += this.counts.get(value) ?? 0;
        if (seen >= rank) return value;
      }
      return values[values.length - 1] as number;
    };
    return {
      min: values[0] as number,
      mean: this.sum / this.count,
      p50: percentile(50),
      p95: percentile(95),
      max: values[values.length - 1] as number,
    };
  }
}
