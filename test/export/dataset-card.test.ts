import { describe, expect, it } from 'vitest';
import { countWords, datasetCardJson, datasetCardMarkdown, DatasetStatistics } from '../../activities/export/index.js';
import type { DatasetStatisticsState } from '../../activities/export/index.js';

// Word counts 3, 5, 5, 10; tokens = 8 × words + 2 = 26, 42, 42, 82 (one over 77).
// In key order, as an export gives them.
const samples = [
  { key: 's1_0_0', slideId: 's1', project: 'TCGA-LUAD', caption: 'one two three' },
  { key: 's1_672_0', slideId: 's1', project: 'TCGA-LUAD', caption: 'a b c d e' },
  { key: 's2_0_0', slideId: 's2', project: 'TCGA-BRCA', caption: '  a\tb\nc  d e ' },
  { key: 's3_0_0', slideId: 's3', caption: 'w w w w w w w w w w' },
];

describe('dataset statistics', () => {
  it('counts words on any whitespace', () => {
    expect([countWords(''), countWords('  '), countWords('a'), countWords(' a\t b\n')]).toEqual([0, 0, 1, 2]);
  });

  it('gives hand-checked counts, nearest-rank percentiles and the share over 77 tokens', () => {
    const statistics = new DatasetStatistics((text) => countWords(text) * 8 + 2);
    for (const sample of samples) statistics.add(sample);
    expect(statistics.summary()).toEqual({
      samples: 4,
      slides: 3,
      projects: [
        { project: 'TCGA-LUAD', slides: 1, samples: 2 },
        { project: 'TCGA-BRCA', slides: 1, samples: 1 },
        { project: 'unknown', slides: 1, samples: 1 },
      ],
      captionWords: { min: 3, mean: 5.75, p50: 5, p95: 10, max: 10 },
      captionTokens: { min: 26, mean: 48, p50: 42, p95: 82, max: 82, limit: 77, overLimit: 1, overLimitShare: 0.25 },
    });
  });

  it('leaves token figures out without a counter, and everything out without samples', () => {
    const statistics = new DatasetStatistics();
    statistics.add(samples[0] as (typeof samples)[number]);
    expect(statistics.summary().captionTokens).toBeNull();
    expect(new DatasetStatistics().summary()).toEqual({
      samples: 0,
      slides: 0,
      projects: [],
      captionWords: null,
      captionTokens: null,
    });
  });
});

describe('dataset statistics in bounded memory', () => {
  // Slide "s" and slide "s_1" interleave in key order: s_1_5_5 (slide s_1) sorts between s_1_1 and
  // s_1_9 (slide s); slide "s-1" sorts before both ('-' < '_') and never shares their prefixes.
  const interleaved = [
    { key: 's-1_0_0', slideId: 's-1', caption: 'one two three four' },
    { key: 's-1_0_1', slideId: 's-1', caption: 'one two three four' },
    { key: 's_0_0', slideId: 's', project: 'A', caption: 'one' },
    { key: 's_1_1', slideId: 's', project: 'A', caption: 'one two' },
    { key: 's_1_5_5', slideId: 's_1', project: 'A', caption: 'one two three' },
    { key: 's_1_9', slideId: 's', project: 'A', caption: 'one' },
    { key: 's_1_9_9', slideId: 's_1', project: 'B', caption: 'one two' },
    { key: 's_2_0', slideId: 's', project: 'A', caption: 'one' },
  ];

  it('counts every slide once however their keys interleave, and forgets the slides passed', () => {
    const statistics = new DatasetStatistics((text) => countWords(text) + 2);
    for (const sample of interleaved) statistics.add(sample);
    expect(statistics.summary()).toMatchObject({
      samples: 8,
      slides: 3,
      projects: [
        { project: 'A', slides: 2, samples: 5 },
        { project: 'unknown', slides: 1, samples: 2 },
        { project: 'B', slides: 1, samples: 1 },
      ],
    });
    // Only the slide whose prefix the last key starts with is remembered.
    expect(statistics.state().open).toEqual([['s', ['A']]]);
    expect(interleaved.map((sample) => sample.key)).toEqual(interleaved.map((sample) => sample.key).sort());
  });

  it('continues from its state (as JSON) to the same figures, cut anywhere', () => {
    const whole = new DatasetStatistics((text) => countWords(text) + 2);
    for (const sample of interleaved) whole.add(sample);
    for (let cut = 0; cut <= interleaved.length; cut++) {
      const first = new DatasetStatistics((text) => countWords(text) + 2);
      for (const sample of interleaved.slice(0, cut)) first.add(sample);
      const state = JSON.parse(JSON.stringify(first.state())) as DatasetStatisticsState;
      const resumed = DatasetStatistics.fromState(state, (text) => countWords(text) + 2);
      for (const sample of interleaved.slice(cut)) resumed.add(sample);
      expect(resumed.summary()).toEqual(whole.summary());
      expect(resumed.state()).toEqual(whole.state());
    }
  });

  it("refuses a sample whose key does not start with its slide's key prefix", () => {
    const statistics = new DatasetStatistics();
    expect(() => statistics.add({ key: 'other_0_0', slideId: 's.1', caption: 'one' })).toThrow(
      /does not start with s-1_/,
    );
  });
});

describe('dataset card', () => {
  const statistics = new DatasetStatistics((text) => countWords(text) * 8 + 2);
  for (const sample of samples) statistics.add(sample);
  const card = datasetCardJson({
    title: 'LUAD pilot',
    version: 'v3',
    createdAt: '2025-05-06T07:08:09.000Z',
    statistics: statistics.summary(),
    shards: 1,
    samplesPerShard: 1000,
    failures: { SlideUnreadable: 1, NoTissue: 3, ModelOutputInvalid: 1, Nothing: 0 },
    files: { shards: 'exports/r/versions/v3/shards/shard-000000.tar', csv: 'exports/r/versions/v3/captions.tsv' },
  });

  it('lists failures by count, dropping zero counts', () => {
    expect(card.failures).toEqual([
      { reason: 'NoTissue', count: 3 },
      { reason: 'ModelOutputInvalid', count: 1 },
      { reason: 'SlideUnreadable', count: 1 },
    ]);
    expect(card.format).toBe('pathgen-dataset-card/1');
  });

  it('renders the same facts as Markdown', () => {
    const markdown = datasetCardMarkdown(card);
    for (const line of [
      '# LUAD pilot',
      'Version `v3`, created 2025-05-06T07:08:09.000Z.',
      '| 4 | 3 | 1 | 1000 |',
      '| TCGA-LUAD | 1 | 2 | 50.0 % |',
      '| unknown | 1 | 1 | 25.0 % |',
      '| words | 3 | 5.8 | 5 | 10 | 10 |',
      '| CLIP tokens (with start and end) | 26 | 48.0 | 42 | 82 | 82 |',
      '25.0 % of captions (1 of 4) are longer than 77 tokens',
      '| NoTissue | 3 |',
      '--dataset-type csv --csv-img-key filepath --csv-caption-key caption',
    ]) {
      expect(markdown).toContain(line);
    }
  });
});
