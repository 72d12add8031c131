import { html } from 'hono/html';
import { reviewUrls } from '../review-urls.js';
import { card, slidePager, type Html } from './layout.js';

// The review queue's overview: how far the sample of N per slide is reviewed, where to go on, and
// the gate when the run waits for it.

export interface QueueSlideRow {
  slideId: string;
  queued: number;
  reviewed: number;
  flagged: number;
}

export interface QueuePageData {
  runId: string;
  n: number;
  seed: string;
  queued: number;
  reviewed: number;
  flagged: number;
  /** The first unreviewed patch's page, in queue mode. */
  next?: string;
  page: number;
  slides: QueueSlideRow[];
  /** Slides with something to review, all pages. */
  slideCount: number;
  gate: Html;
}

export function queuePage(data: QueuePageData): Html {
  return html`<h1>Review queue of ${data.runId}</h1>
    <p>
      A random sample of ${data.n} captioned patches per slide (seed ${data.seed}), the same for every reviewer with
      this seed. Keys on a patch page: <kbd>a</kbd> accept, <kbd>f</kbd> flag, <kbd>e</kbd> edit, <kbd>n</kbd> next.
    </p>
    <form class="filters" method="get" action="${reviewUrls.queue(data.runId)}">
      <label>per slide <input type="number" name="n" min="1" max="1000" value="${data.n}" /></label>
      <label>seed <input name="seed" value="${data.seed}" /></label>
      <button type="submit">Sample</button>
    </form>
    <div class="cards">
      ${card('in the queue', data.queued)} ${card('reviewed', data.reviewed)} ${card('flagged', data.flagged)}
      ${card('left', data.queued - data.reviewed)}
    </div>
    ${data.gate}
    <p>
      ${
        data.next
          ? html`<a class="start-queue" href="${data.next}"
              >${data.reviewed === 0 ? 'Start' : 'Continue'} reviewing →</a
            >`
          : html`<b>Every patch in the queue is reviewed.</b>`
      }
    </p>
    ${slidePager(data.page, data.slideCount, (page) => reviewUrls.queue(data.runId, data.n, data.seed, page))}
    <table>
      <thead>
        <tr>
          <th>slide</th>
          <th class="num">in the queue</th>
          <th class="num">reviewed</th>
          <th class="num">flagged</th>
        </tr>
      </thead>
      <tbody>
        ${data.slides.map(
          (slide) =>
            html`<tr>
              <td><a href="${reviewUrls.slide(data.runId, slide.slideId)}">${slide.slideId}</a></td>
              <td class="num">${slide.queued}</td>
              <td class="num">${slide.reviewed}</td>
              <td class="num">${slide.flagged}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}
