import { html } from 'hono/html';
import type { ReviewStatus } from '../../../activities/review/index.js';
import { reviewUrls } from '../review-urls.js';
import type { SlideDetails } from '../slide-details.js';
import { card, countsText, statusCell, type Html } from './layout.js';

// The thumbnail (the tile stage drew the tissue mask and grid into it) under an SVG in level-0
// coordinates: the candidate cells, and the selected patches as links to their pages.

const reviewCell = (status: ReviewStatus | undefined): Html =>
  status ? html`<span class="review-${status}">${status}</span>` : html`<span class="muted">–</span>`;

const score = (value: number | null | undefined): string => (typeof value === 'number' ? value.toFixed(3) : '–');

function overlay(details: SlideDetails, runId: string): Html {
  const { geometry, record } = details;
  if (!details.thumbnailKey || !geometry)
    return html`<p class="notice">This slide has no thumbnail (the tile stage did not finish).</p>`;
  const [width, height] = [geometry.thumbnailWidth * geometry.scaleX, geometry.thumbnailHeight * geometry.scaleY];
  return html`<div>
    <label><input type="checkbox" id="show-candidates" checked /> candidate grid</label>
    <div class="overlay" id="overlay">
      <img alt="thumbnail of ${record.slideId}" src="${reviewUrls.thumbnail(runId, record.slideId)}" />
      <svg viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">
        ${details.candidates.map((cell) => html`<rect class="candidate" x="${cell.x}" y="${cell.y}" width="${cell.width}" height="${cell.height}" stroke-width="${width / 400}" />`)}
        ${details.selected.map(
          (patch) =>
            html`<a href="${reviewUrls.patch(runId, record.slideId, patch.id)}">
              <rect
                class="selected"
                x="${patch.x}"
                y="${patch.y}"
                width="${patch.width}"
                height="${patch.height}"
                stroke-width="${width / 250}"
                ><title>${patch.id}: ${patch.routes.join(', ')}</title></rect
              >
            </a>`,
        )}
      </svg>
    </div>
  </div>`;
}

export function slidePage(
  details: SlideDetails,
  runId: string,
  reviewOf: (patchId: string) => ReviewStatus | undefined,
): Html {
  const { record } = details;
  const captioned = new Set(record.samples.filter((sample) => sample.recordKey).map((sample) => sample.id));
  const scoreNames = [...new Set(details.selected.flatMap((patch) => Object.keys(patch.scores)))].sort();
  return html`<h1>Slide ${record.slideId}</h1>
    <div class="cards">
      ${card('status', record.status)} ${card('project', record.project ?? '–')}
      ${card('candidates', details.candidates.length)} ${card('selected', details.selected.length)}
      ${card('captions', captioned.size)}
      ${card('tissue', details.geometry?.tissueFraction !== undefined ? `${(details.geometry.tissueFraction * 100).toFixed(1)}%` : '–')}
    </div>
    ${record.reason ? html`<p>${statusCell(record.status)} ${record.reason}: ${record.message ?? ''}</p>` : ''}
    <p>Patch failures: ${countsText(record.failures)}.</p>
    <div class="slide-view">
      ${overlay(details, runId)}
      <div>
        <h2>Selected patches</h2>
        <table>
          <thead>
            <tr>
              <th>patch</th>
              <th></th>
              <th class="num">priority</th>
              <th>routes</th>
              <th class="num">cluster</th>
              ${scoreNames.map((name) => html`<th class="num">${name}</th>`)}
              <th>caption</th>
              <th>review</th>
            </tr>
          </thead>
          <tbody>
            ${details.selected.map(
              (patch) =>
                html`<tr>
                  <td>
                    <a class="patch-link" href="${reviewUrls.patch(runId, record.slideId, patch.id)}">${patch.id}</a>
                  </td>
                  <td>
                    <img
                      class="thumb"
                      loading="lazy"
                      alt="patch ${patch.id}"
                      src="${reviewUrls.patchImage(runId, record.slideId, patch.id)}"
                    />
                  </td>
                  <td class="num">${patch.priority ?? ''}</td>
                  <td>${patch.routes.join(', ')}</td>
                  <td class="num">${patch.cluster ?? ''}</td>
                  ${scoreNames.map((name) => html`<td class="num">${score(patch.scores[name])}</td>`)}
                  <td>${captioned.has(patch.id) ? 'yes' : html`<span class="muted">no</span>`}</td>
                  <td>${reviewCell(reviewOf(patch.id))}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </div>`;
}
