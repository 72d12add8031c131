import { describe, expect, it } from 'vitest';
import { renderHtmlReport, renderMarkdownReport } from '../../../activities/eval/report/index.js';
import type { EvalReport } from '../../../activities/eval/eval-types.js';
import { expectWellFormed, sampleReport, trickyClass } from './report-fixture.js';

describe('renderMarkdownReport', () => {
  const { markdown, files } = renderMarkdownReport(sampleReport());

  it('opens with the run and a summary table of every task’s metrics in one-decimal percent', () => {
    expect(markdown).toMatch(/^# Evaluation report: PathGen-CLIP\n/);
    expect(markdown).toContain('- **Model:** PathGen-CLIP 2 (pathgen-clip-b16)');
    expect(markdown).toContain('- **Duration:** 12.5 min');
    expect(markdown).toContain('- **Image features:** 1200 embedded, 300 from the cache');
    expect(markdown).toContain('| Task | Dataset | Metric | Value |\n| --- | --- | --- | ---: |');
    expect(markdown).toContain('| zero-shot | crc-100k | accuracy | 83.3% |');
    expect(markdown).toContain('| zero-shot | crc-100k | balanced accuracy | 83.3% |');
    expect(markdown).toContain('| zero-shot | crc-100k | weighted F1 | 83.1% |');
    expect(markdown).toContain('| zero-shot | Tricky \\<set\\> \\& co | accuracy | 85.0% |');
    expect(markdown).toContain(
      '| zero-shot | Tricky \\<set\\> \\& co | weighted F1 | 85.1% |\n| zero-shot | mean of 2 datasets | accuracy | 84.2% |\n',
    );
    expect(markdown).toContain('| linear probe | crc-100k | accuracy (1-shot) | 51.2% ± 4.6% |');
    expect(markdown).toContain('| linear probe | crc-100k | accuracy (all) | 84.0% ± 0.0% |');
    expect(markdown).toContain('| slide | CAMELYON16 | AUROC | 92.6% |');
    expect(markdown).toContain('| slide | CAMELYON16 | accuracy | 85.7% |');
    expect(markdown).toContain('| slide | CAMELYON16 | macro F1 | 85.3% |');
  });

  it('gives each task its section: zero-shot tables and plots, the probe’s shots table, the slide task’s ROC', () => {
    expect(markdown).toContain('## Zero-shot: crc-100k');
    expect(markdown).toContain('- **Prompts:** first template only');
    expect(markdown).toContain('Template:\n\n- An H\\&E image of {class}\n\n|');
    expect(markdown).toContain('- **Prompts:** mean over 2 templates');
    expect(markdown).toContain(
      '| True \\\\ predicted | adipose tissue | debris | colorectal adenocarcinoma epithelium |',
    );
    expect(markdown).toContain('| debris | 4 | 40 | 6 |');
    expect(markdown).toContain('| adipose tissue | 50 | 90.0% |');
    expect(markdown).toContain('![Confusion matrix, zero-shot crc-100k](zero-shot-crc-100k-confusion.svg)');
    expect(markdown).toContain('![Per-class accuracy, zero-shot crc-100k](zero-shot-crc-100k-per-class.svg)');
    expect(markdown).toContain('## Linear probe: crc-100k');
    expect(markdown).toContain('| 1-shot | 51.2% ± 4.6% | 50.1% ± 4.0% | 48.7% ± 5.1% | 3 | 1.0e-3, 1.0e-2, 1.0e-3 |');
    expect(markdown).toContain('## Slide task: CAMELYON16');
    expect(markdown).toContain('| AUROC (macro) | 92.6% |');
    expect(markdown).toContain('- **Slides:** 200 train, 40 validation, 35 test');
    expect(markdown).toContain('![ROC curves, CAMELYON16](slide-camelyon16-roc.svg)');
    expect(markdown).toContain('| test\\_049 | NoTissue |');
  });

  it('escapes names so they cannot open markup or break a table row', () => {
    expect(markdown).toContain('\\<b\\>\\&"tumour"\\|x\\</b\\>');
    expect(markdown).not.toContain(trickyClass);
    expect(markdown).not.toContain('<b>');
  });

  it('returns every linked plot as a well-formed SVG file, and nothing unlinked', () => {
    const linked = [...markdown.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((match) => match[1]);
    expect(Object.keys(files).sort()).toEqual([...linked].sort());
    expect(Object.keys(files).sort()).toEqual([
      'slide-camelyon16-confusion.svg',
      'slide-camelyon16-roc.svg',
      'zero-shot-crc-100k-confusion.svg',
      'zero-shot-crc-100k-per-class.svg',
      'zero-shot-tricky-set-co-confusion.svg',
      'zero-shot-tricky-set-co-per-class.svg',
    ]);
    for (const svg of Object.values(files)) expectWellFormed(svg);
  });

  it('gives two tasks on the same dataset distinct plot files', () => {
    const report = sampleReport();
    const first = report.tasks[0];
    if (first?.kind !== 'zero-shot') throw new Error('the fixture starts with a zero-shot task');
    const twice: EvalReport = { ...report, tasks: [first, { ...first, ensemble: true }] };
    expect(Object.keys(renderMarkdownReport(twice).files)).toEqual([
      'zero-shot-crc-100k-confusion.svg',
      'zero-shot-crc-100k-per-class.svg',
      'zero-shot-crc-100k-confusion-2.svg',
      'zero-shot-crc-100k-per-class-2.svg',
    ]);
  });

  it('is deterministic and says so when there are no tasks', () => {
    expect(renderMarkdownReport(sampleReport())).toEqual(renderMarkdownReport(sampleReport()));
    const empty = renderMarkdownReport({ ...sampleReport(), tasks: [] });
    expect(empty.markdown).toContain('No tasks were evaluated.');
    expect(empty.files).toEqual({});
  });
});

describe('renderHtmlReport', () => {
  const page = renderHtmlReport(sampleReport());

  it('is one self-contained, well-formed page: inline CSS and SVG, no scripts, nothing fetched', () => {
    expect(page.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expectWellFormed(page);
    expect(page).toContain('<style>');
    expect(page.match(/<svg /g)).toHaveLength(6);
    expect(page).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(|https?:/i);
  });

  it('carries the same summary and sections as the Markdown', () => {
    expect(page).toContain(
      '<tr><td>zero-shot</td><td>crc-100k</td><td>accuracy</td><td class="number">83.3%</td></tr>',
    );
    expect(page).toContain(
      '<td>linear probe</td><td>crc-100k</td><td>accuracy (1-shot)</td><td class="number">51.2% ± 4.6%</td>',
    );
    expect(page).toContain('<td>slide</td><td>CAMELYON16</td><td>AUROC</td><td class="number">92.6%</td>');
    for (const heading of [
      'Zero-shot: crc-100k',
      'Linear probe: crc-100k',
      'Slide task: CAMELYON16',
      'Per-class accuracy',
    ]) {
      expect(page).toContain(heading);
    }
    expect(page).toContain('<figcaption>ROC curves, CAMELYON16</figcaption>');
  });

  it('escapes names in text and in plots', () => {
    expect(page).toContain('<h2>Zero-shot: Tricky &lt;set&gt; &amp; co</h2>');
    expect(page).toContain('&lt;b&gt;&amp;&quot;tumour&quot;|x&lt;/b&gt;');
    expect(page).not.toContain(trickyClass);
    expect(renderHtmlReport(sampleReport())).toBe(page);
  });
});
