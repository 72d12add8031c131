// Counts and caption-length figures for the dataset card, gathered one sample at a time while the
// export streams (lengths are small integers, so a histogram gives exact percentiles in little
// memory however many samples there are).

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

export const unknownProject = 'unknown';

export class DatasetStatistics {
  private readonly words = new Histogram();
  private readonly tokens = new Histogram();
  private readonly slides = new Set<string>();
  private readonly projects = new Map<string, { slides: Set<string>; samples: number }>();

  constructor(
    private readonly countTokens?: (text: string) => number,
    private readonly tokenLimit = 77,
  ) {}

  add(sample: { slideId: string; project?: string; caption: string }): void {
    this.slides.add(sample.slideId);
    const name = sample.project ?? unknownProject;
    let project = this.projects.get(name);
    if (project === undefined) {
      project = { slides: new Set(), samples: 0 };
      this.projects.set(name, project);
    }
    project.slides.add(sample.slideId);
    project.samples += 1;
    this.words.add(countWords(sample.caption));
    if (this.countTokens !== undefined) this.tokens.add(this.countTokens(sample.caption));
  }

  summary(): DatasetStatisticsSummary {
    const projects = [...this.projects]
      .map(([project, { slides, samples }]) => ({ project, slides: slides.size, samples }))
      .sort((a, b) => b.samples - a.samples || (a.project < b.project ? -1 : 1));
    const tokens = this.tokens.summary();
    return {
      samples: this.words.count,
      slides: this.slides.size,
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
}

export function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/u).length;
}

class Histogram {
  count = 0;
  private sum = 0;
  private readonly counts = new Map<number, number>();

  add(value: number): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
    this.count += 1;
    this.sum += value;
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
