import { html } from 'hono/html';
import type { DatasetReviewCounts } from '../../../activities/export/dataset-card.js';
import type { CaptionSearchResult } from '../caption-search.js';
import { filterQuery, type RunFilters } from '../review-params.js';
import { reviewUrls } from '../review-urls.js';
import type { ExportVersions, RunTotals } from '../run-catalog.js';
import type { SlideSummary } from '../slide-summaries.js';
import type { RunningSlide, RunStatus } from '../temporal-status.js';
import { card, countsText, slidePager, statusCell, type Html } from './layout.js';

export interface RunPageData {
  runId: string;
  totals: RunTotals;
  exports: ExportVersions;
  filters: RunFilters;
  /** The slides the filters keep, all pages. */
  matching: number;
  slides: SlideSummary[];
  reasons: string[];
  temporal?: RunStatus;
  running: RunningSlide[];
  search?: { result: CaptionSearchResult; slideOf: (wsiId: string) => string | undefined };
  reviews: { run: DatasetReviewCounts; slides: Map<string, DatasetReviewCounts> };
  /** The review gate's panel (empty without a gate). */
  gate: Html;
}

function reviewedCell(counts: DatasetReviewCounts | undefined): Html | string {
  return counts ? `${counts.reviewed} (${counts.flagged}, ${counts.edited})` : '';
}

function options(values: string[], selected: string | undefined, anyLabel: string): Html {
  return html`<option value="">${anyLabel}</option>
    ${values.map((value) => html`<option value="${value}" ${value === selected ? 'selected' : ''}>${value}</option>`)}`;
}

function filterForm(data: RunPageData): Html {
  const { filters, totals } = data;
  return html`<form class="filters" method="get" action="${reviewUrls.run(data.runId)}">
    <label
      >project
      <select name="project">
        ${options(totals.projects, filters.project, 'any')}
      </select></label
    >
    <label
      >status
      <select name="status">
        ${options(['completed', 'failed'], filters.status, 'any')}
      </select></label
    >
    <label
      >reason
      <select name="reason">
        ${options(data.reasons, filters.reason, 'any')}
      </select></label
    >
    <label
      >caption search <input type="search" name="q" value="${filters.q ?? ''}" placeholder="words in captions"
    /></label>
    <button type="submit">Apply</button>
  </form>`;
}

function searchResults(data: RunPageData): Html {
  const search = data.search;
  if (!search) return html``;
  const { result } = search;
  if (result.version === undefined) {
    return html`<p class="notice">
      Caption search reads the run's latest export; this run has none with captions yet.
    </p>`;
  }
  return html`<h2>Captions matching “${data.filters.q}”</h2>
    <p class="muted">
      ${result.total} in export
      ${result.version}${result.total > result.hits.length ? `, first ${result.hits.length} shown` : ''}.
    </p>
    <table>
      <thead>
        <tr>
          <th>slide</th>
          <th>patch</th>
          <th>caption</th>
        </tr>
      </thead>
      <tbody>
        ${result.hits.map((hit) => {
          const slideId = search.slideOf(hit.wsiId);
          return html`<tr>
            <td>${slideId ? html`<a href="${reviewUrls.slide(data.runId, slideId)}">${slideId}</a>` : hit.wsiId}</td>
            <td>
              ${slideId ? html`<a href="${reviewUrls.patch(data.runId, slideId, hit.patchId)}">${hit.patchId}</a>` : hit.patchId}
            </td>
            <td>${hit.caption}</td>
          </tr>`;
        })}
      </tbody>
    </table>`;
}

const pager = (data: RunPageData): Html =>
  slidePager(
    data.filters.page,
    data.matching,
    (page) => `${reviewUrls.run(data.runId)}${filterQuery(data.filters, page)}`,
  );

export function runPage(data: RunPageData): Html {
  const { totals, runId } = data;
  return html`<h1>Run ${runId}</h1>
    <div class="cards">
      ${card('status', data.temporal?.status ?? 'Temporal not consulted')} ${card('slides', totals.slides)}
      ${card('completed', totals.byStatus.completed ?? 0)} ${card('failed', totals.byStatus.failed ?? 0)}
      ${card('patches', totals.patches)} ${card('captions', totals.captions)}
      ${card('export', data.exports.latest?.version ?? 'none')} ${card('reviewed', data.reviews.run.reviewed)}
      ${card('flagged', data.reviews.run.flagged)} ${card('edited', data.reviews.run.edited)}
    </div>
    <p>
      <a class="queue-link" href="${reviewUrls.queue(runId)}">Review queue →</a> a random sample of patches per slide,
      with keyboard shortcuts.
    </p>
    ${data.gate}
    <p>
      Slide failures by reason: ${countsText(totals.failuresByReason)}. Patch failures:
      ${countsText(totals.patchFailuresByCode)}.
    </p>
    ${
      data.running.length > 0
        ? html`<p>
            Running now (Temporal):
            ${data.running.map((slide) => `${slide.slideId}${slide.stage ? ` (${slide.stage})` : ''}`).join(', ')}
          </p>`
        : ''
    }
    ${filterForm(data)} ${searchResults(data)}
    <h2>Slides</h2>
    ${pager(data)}
    <table class="slides">
      <thead>
        <tr>
          <th>thumbnail</th>
          <th>slide</th>
          <th>project</th>
          <th>status</th>
          <th>reason</th>
          <th class="num">candidates</th>
          <th class="num">patches</th>
          <th class="num">captions</th>
          <th>patch failures</th>
          <th>reviewed (flagged, edited)</th>
        </tr>
      </thead>
      <tbody>
        ${data.slides.map(
          (slide) =>
            html`<tr>
              <td>
                ${!slide.hasThumbnail ? '' : html`<a href="${reviewUrls.slide(runId, slide.slideId)}"><img class="thumb" loading="lazy" alt="thumbnail of ${slide.slideId}" src="${reviewUrls.thumbnail(runId, slide.slideId)}" /></a>`}
              </td>
              <td><a class="slide-link" href="${reviewUrls.slide(runId, slide.slideId)}">${slide.slideId}</a></td>
              <td>${slide.project ?? ''}</td>
              <td>${statusCell(slide.status)}</td>
              <td>${slide.reason ?? ''}${slide.message ? html`<div class="muted">${slide.message}</div>` : ''}</td>
              <td class="num">${slide.counts.candidates ?? ''}</td>
              <td class="num">${slide.samples}</td>
              <td class="num">${slide.captioned}</td>
              <td>${Object.keys(slide.failures).length > 0 ? countsText(slide.failures) : ''}</td>
              <td>${reviewedCell(data.reviews.slides.get(slide.slideId))}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${pager(data)}`;
}
