import { diffWords } from 'diff';
import { html } from 'hono/html';
import type { SampleRef, SlideRecord } from '../../../activities/contracts/slide-record.js';
import { reviewUrls } from '../review-urls.js';
import type { PatchTexts } from '../slide-details.js';
import type { Html } from './layout.js';

// A patch: its image and caption with the review controls beside them (what a reviewer judges),
// then how the caption was made: the description, the reviser's word-level changes to it, and the
// CLIP token count, models, prompt versions and usage of each agent.

const text = (record: Record<string, unknown> | undefined, field: string): string | undefined =>
  typeof record?.[field] === 'string' ? record[field] : undefined;

function revisionDiff(description: string, revised: string): Html {
  return html`${diffWords(description, revised).map((part) =>
    part.added ? html`<ins>${part.value}</ins>` : part.removed ? html`<del>${part.value}</del>` : part.value,
  )}`;
}

function agentFacts(stage: string, record: Record<string, unknown> | undefined): Html {
  if (!record) return html``;
  const usage = (record.usage ?? {}) as Record<string, unknown>;
  return html`<tr>
    <td>${stage}</td>
    <td>${text(record, 'backend') ?? ''}</td>
    <td>${text(record, 'model') ?? ''}</td>
    <td>${text(record, 'promptVersion') ?? ''}</td>
    <td>
      ${Object.entries(usage)
        .map(([name, value]) => `${name} ${String(value)}`)
        .join(' · ')}
    </td>
  </tr>`;
}

/** The caption the agents made (the summarizer's, else the caption record's). */
export function generatedCaption(texts: PatchTexts): string | undefined {
  return text(texts.summarize, 'caption') ?? text(texts.caption, 'caption');
}

export function patchPage(
  record: SlideRecord,
  sample: SampleRef,
  texts: PatchTexts,
  runId: string,
  review: Html,
): Html {
  const description = text(texts.describe, 'description');
  const revised = text(texts.revise, 'revised');
  const caption = generatedCaption(texts);
  const tokens = [texts.summarize?.tokens, texts.caption?.tokens].find((value) => typeof value === 'number');
  return html`<h1>Patch ${sample.id} of ${record.slideId}</h1>
    <div class="patch-view">
      <a href="${reviewUrls.patchImage(runId, record.slideId, sample.id)}" title="the patch at full size"
        ><img class="patch" alt="patch ${sample.id}" src="${reviewUrls.patchImage(runId, record.slideId, sample.id)}"
      /></a>
      <div class="texts">
        <dl class="facts">
          <dt>position</dt>
          <dd>
            x ${sample.x}, y ${sample.y}, level ${sample.level}, ${sample.size}²
            px${sample.mpp ? `, ${sample.mpp} µm/px` : ''}
          </dd>
          <dt>CLIP tokens</dt>
          <dd>${tokens ?? '–'}</dd>
          ${
            sample.failure
              ? html`<dt>failure</dt>
                  <dd>${sample.failure.agent}: ${sample.failure.code} — ${sample.failure.reason}</dd>`
              : ''
          }
        </dl>
        <h2>Caption (generated)</h2>
        <div class="text-block caption">${caption ?? html`<span class="muted">no caption</span>`}</div>
        ${review}
        <h2>How it was made: the description</h2>
        <div class="text-block description">${description ?? html`<span class="muted">none</span>`}</div>
        <h2>The reviser's changes to it</h2>
        <div class="text-block revision">
          ${description && revised ? revisionDiff(description, revised) : (revised ?? html`<span class="muted">none</span>`)}
        </div>
        <h2>Models, prompts and usage</h2>
        <table>
          <thead>
            <tr>
              <th>agent</th>
              <th>backend</th>
              <th>model</th>
              <th>prompt version</th>
              <th>usage</th>
            </tr>
          </thead>
          <tbody>
            ${agentFacts('describe', texts.describe)} ${agentFacts('revise', texts.revise)}
            ${agentFacts('summarize', texts.summarize)}
          </tbody>
        </table>
        <p><a href="${reviewUrls.slide(runId, record.slideId)}">← back to the slide</a></p>
      </div>
    </div>`;
}
