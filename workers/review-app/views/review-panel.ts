import { html } from 'hono/html';
import type { SampleReview } from '../../../activities/review/index.js';
import type { RunGate } from '../temporal-status.js';
import type { Html } from './layout.js';

// The review controls: on a patch page the sample's review state and its three actions (with the
// queue's keys), on the run and queue pages the gate and its approve button. The buttons work
// through /assets/review.js; without it nothing is sent (writes need the token header).

export interface PanelData {
  /** Where the actions are posted. */
  api: string;
  key: string;
  review?: SampleReview;
  /** The caption an edit starts from: the latest edit, else the generated one. */
  caption?: string;
  /** The next unreviewed patch of the queue, when walking it. */
  next?: string;
  queue?: { position?: number; queued: number; reviewed: number; queueUrl: string };
  /** False when the app was started without a way to record reviews. */
  writable: boolean;
}

function reviewState(review: SampleReview | undefined): Html {
  if (!review) return html`<p class="review-state">Not reviewed yet.</p>`;
  const edit = review.edit
    ? html`<p class="muted">
        Caption edited by ${review.edit.by} at
        ${review.edit.at}${
          review.edit.previousCaption !== undefined ? html`; it replaced “${review.edit.previousCaption}”` : ''
        }.
      </p>`
    : '';
  return html`<p class="review-state">
      <b class="review-${review.status}">${review.status}</b> by ${review.last.by} at ${review.last.at}
      ${review.flag ? html`: ${review.flag.reason}` : ''} (${review.records} review
      record${review.records === 1 ? '' : 's'})
    </p>
    ${edit}`;
}

export function reviewPanel(data: PanelData): Html {
  const queue = data.queue
    ? html`<p class="queue-line">
        Review queue: ${data.queue.reviewed} of ${data.queue.queued}
        reviewed${data.queue.position !== undefined ? `; this is patch ${data.queue.position} of the queue` : ''}.
        ${
          data.next
            ? html`<a class="next" href="${data.next}">next unreviewed <kbd>n</kbd></a>`
            : data.review
              ? html`<b>Queue done.</b> <a href="${data.queue.queueUrl}">back to the queue</a>`
              : html`<b>The last unreviewed patch of the queue.</b>`
        }
      </p>`
    : '';
  if (!data.writable) {
    return html`<section class="review">
      <h2>Review</h2>
      ${reviewState(data.review)}
      <p class="muted">This app was started read-only.</p>
    </section>`;
  }
  return html`<section
    class="review"
    id="review"
    data-api="${data.api}"
    data-key="${data.key}"
    data-next="${data.next ?? ''}"
  >
    <h2>Review</h2>
    ${queue} ${reviewState(data.review)}
    <div class="review-actions">
      <button type="button" class="accept">Accept <kbd>a</kbd></button>
      <form class="flag">
        <input name="reason" required maxlength="500" placeholder="why leave it out (f)" aria-label="flag reason" />
        <button type="submit">Flag</button>
      </form>
      <form class="edit">
        <textarea name="caption" rows="4" required maxlength="2000" aria-label="caption">
${data.caption ?? ''}</textarea>
        <button type="submit">Save caption <kbd>e</kbd> · ctrl+enter</button>
      </form>
    </div>
    <p class="review-message" role="status"></p>
  </section>`;
}

export function gatePanel(gate: RunGate | undefined, api: string, writable: boolean): Html {
  if (!gate) return html``;
  const waiting = gate.phase === 'awaiting-review';
  return html`<section class="gate">
    <h2>Review gate</h2>
    <p>
      The gate asks for ${gate.samplesPerSlide} reviewed samples per slide and at most
      ${(gate.maxFlagRate * 100).toFixed(1)} % of them flagged.
      ${waiting ? html`<b>The run is waiting for review.</b>` : html`Run phase: ${gate.phase}.`}
    </p>
    <p class="muted gate-status">${gate.status}${gate.approvedBy ? ` · approved by ${gate.approvedBy}` : ''}</p>
    ${
      waiting && writable
        ? html`<p>
            <button type="button" class="approve" data-api="${api}">Approve export</button>
            <span class="approve-message" role="status"></span>
          </p>`
        : ''
    }
  </section>`;
}
