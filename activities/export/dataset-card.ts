import type { DatasetStatisticsSummary, LengthSummary } from './dataset-statistics.js';

// The dataset card: what a person reads before training on an export (Markdown) and what a
// program reads (its JSON twin, the same facts). The creation time is given, never read from the
// clock here, so the same export gives the same card.

export interface DatasetCardFiles {
  /** Store key pattern of the WebDataset shards, e.g. `…/shards/shard-{000000..000012}.tar`. */
  shards?: string;
  csv?: string;
  images?: string;
  pathgenJson?: string;
}

/**
 * What the export did with human reviews: samples reviewed, of which flagged (left out), edited
 * (caption replaced) and accepted (as generated); reviewed = flagged + edited + accepted.
 */
export interface DatasetReviewCounts {
  reviewed: number;
  flagged: number;
  edited: number;
  accepted: number;
}

export interface DatasetCardInput {
  title: string;
  version: string;
  /** ISO 8601 time the export was made, given by the caller. */
  createdAt: string;
  statistics: DatasetStatisticsSummary;
  shards: number;
  samplesPerShard: number;
  /** Slides or samples that did not make it, by reason code (as the run recorded them). */
  failures: Readonly<Record<string, number>>;
  files: DatasetCardFiles;
  /** Present when the run had reviews; a run without them has the card it always had. */
  review?: DatasetReviewCounts;
}

export interface DatasetCardJson extends Omit<DatasetCardInput, 'failures'> {
  format: 'pathgen-dataset-card/1';
  failures: Array<{ reason: string; count: number }>;
}

export function datasetCardJson(input: DatasetCardInput): DatasetCardJson {
  const failures = Object.entries(input.failures)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
  return { format: 'pathgen-dataset-card/1', ...input, failures };
}

export function datasetCardMarkdown(card: DatasetCardJson): string {
  const { statistics: stats } = card;
  const lines = [
    `# ${card.title}`,
    '',
    `Version \`${card.version}\`, created ${card.createdAt}. Image–caption pairs made with the PathGen-1.6M method.`,
    '',
    '## Counts',
    '',
    '| samples | slides | shards | samples per shard |',
    '| ---: | ---: | ---: | ---: |',
    `| ${stats.samples} | ${stats.slides} | ${card.shards} | ${card.samplesPerShard} |`,
    '',
    '## Projects',
    '',
  ];
  if (stats.projects.length === 0) lines.push('No samples.', '');
  else {
    lines.push('| project | slides | samples | share of samples |', '| --- | ---: | ---: | ---: |');
    for (const project of stats.projects) {
      lines.push(
        `| ${project.project} | ${project.slides} | ${project.samples} | ${percent(project.samples / stats.samples)} |`,
      );
    }
    lines.push('');
  }
  lines.push('## Captions', '');
  if (stats.captionWords === null) lines.push('No captions.', '');
  else {
    lines.push('| length | min | mean | p50 | p95 | max |', '| --- | ---: | ---: | ---: | ---: | ---: |');
    lines.push(lengthRow('words', stats.captionWords));
    if (stats.captionTokens !== null) lines.push(lengthRow('CLIP tokens (with start and end)', stats.captionTokens));
    lines.push('');
    if (stats.captionTokens !== null) {
      const tokens = stats.captionTokens;
      lines.push(
        `${percent(tokens.overLimitShare)} of captions (${tokens.overLimit} of ${stats.samples}) are longer than ` +
          `${tokens.limit} tokens; CLIP training truncates them.`,
        '',
      );
    }
  }
  if (card.review !== undefined) {
    const { reviewed, flagged, edited, accepted } = card.review;
    lines.push(
      '## Review',
      '',
      '| reviewed | flagged (left out) | edited (caption replaced) | accepted |',
      '| ---: | ---: | ---: | ---: |',
      `| ${reviewed} | ${flagged} | ${edited} | ${accepted} |`,
      '',
      "An edited sample's `<key>.json` keeps the generated caption and who edited it under `review`.",
      '',
    );
  }
  lines.push('## Failures', '');
  if (card.failures.length === 0) lines.push('None recorded.', '');
  else {
    lines.push('| reason | count |', '| --- | ---: |');
    for (const failure of card.failures) lines.push(`| ${failure.reason} | ${failure.count} |`);
    lines.push('');
  }
  lines.push('## Files and how to train on them', '');
  if (card.files.shards !== undefined) {
    lines.push(
      `- WebDataset shards \`${card.files.shards}\` (each sample: \`<key>.jpg\`, \`<key>.txt\` caption, ` +
        '`<key>.json` metadata). open_clip: `--dataset-type webdataset --train-data ' +
        `'<local copy>/shard-{…}.tar' --train-num-samples ${stats.samples}\`.`,
    );
  }
  if (card.files.csv !== undefined) {
    lines.push(
      `- Tab-separated \`${card.files.csv}\` (columns \`filepath\`, \`caption\`; images in ` +
        `\`${card.files.images ?? 'images/'}\`, paths relative to the file's folder). open_clip: ` +
        '`--dataset-type csv --csv-img-key filepath --csv-caption-key caption` (tab is its default separator), ' +
        "run from the file's folder.",
    );
  }
  if (card.files.pathgenJson !== undefined) {
    lines.push(
      `- \`${card.files.pathgenJson}\` in the released PathGen-1.6M format (\`wsi_id\`, \`position\` as strings, ` +
        '`caption`, `file_id`), positions being the level-0 top-left corners of the patches.',
    );
  }
  lines.push('');
  return lines.join('\n');
}

function lengthRow(name: string, summary: LengthSummary): string {
  return `| ${name} | ${summary.min} | ${summary.mean.toFixed(1)} | ${summary.p50} | ${summary.p95} | ${summary.max} |`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}
