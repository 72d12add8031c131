import { html } from 'hono/html';
import type { RunTotals } from '../run-catalog.js';
import type { ExportVersions } from '../run-catalog.js';
import { reviewUrls } from '../review-urls.js';
import type { RunStatus } from '../temporal-status.js';
import { countsText, type Html } from './layout.js';

export interface RunRow {
  runId: string;
  totals: RunTotals;
  exports: ExportVersions;
  temporal?: RunStatus;
}

export function runsPage(rows: RunRow[], temporalNote: string): Html {
  return html`<h1>Runs</h1>
    <p class="muted">${temporalNote}</p>
    ${
      rows.length === 0
        ? html`<p class="notice">No runs in this store yet: <code>pathgen demo</code> makes one.</p>`
        : html`<table>
            <thead>
              <tr>
                <th>run</th>
                <th>status</th>
                <th class="num">slides</th>
                <th>slides by status</th>
                <th class="num">patches</th>
                <th class="num">captions</th>
                <th>failures by reason</th>
                <th>export versions</th>
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (row) =>
                  html`<tr>
                    <td><a href="${reviewUrls.run(row.runId)}">${row.runId}</a></td>
                    <td>${row.temporal ? row.temporal.status : html`<span class="muted">from the store</span>`}</td>
                    <td class="num">${row.totals.slides}</td>
                    <td>${countsText(row.totals.byStatus)}</td>
                    <td class="num">${row.totals.patches}</td>
                    <td class="num">${row.totals.captions}</td>
                    <td>${countsText(row.totals.failuresByReason)}</td>
                    <td>
                      ${
                        row.exports.versions.length === 0
                          ? html`<span class="muted">not exported</span>`
                          : row.exports.versions.map(
                              (version, index) =>
                                html`<div>
                                  ${version}${index === 0 ? html` <span class="muted">(latest, ${row.exports.latest?.samples} samples)</span>` : ''}
                                </div>`,
                            )
                      }
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}
