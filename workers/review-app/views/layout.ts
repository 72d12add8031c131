import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { slidesPerPage } from '../review-params.js';
import { reviewUrls } from '../review-urls.js';

// Every page's frame. All store-derived text goes through `html`'s interpolation, which escapes it;
// nothing in views is built by string concatenation.

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface Crumb {
  label: string;
  href?: string;
}

export function layout(title: string, crumbs: Crumb[], body: Html, writeToken: string, reviewer?: string): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="pathgen-write-token" content="${writeToken}" />
        <title>${title} · pathgen review</title>
        <link rel="stylesheet" href="${reviewUrls.styles()}" />
        <script src="${reviewUrls.script()}" defer></script>
      </head>
      <body>
        <header class="top">
          <span class="brand">pathgen review</span>
          <nav>
            ${crumbs.map((crumb) => (crumb.href ? html`<a href="${crumb.href}">${crumb.label}</a> › ` : html`<span>${crumb.label}</span>`))}
          </nav>
          ${reviewer ? html`<span class="reviewer muted">reviewing as ${reviewer}</span>` : ''}
        </header>
        <main>${body}</main>
      </body>
    </html>`;
}

/** `{a: 2, b: 1}` as "a 2 · b 1", largest first; "none" when empty. */
export function countsText(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.map(([name, count]) => `${name} ${count}`).join(' · ');
}

export function statusCell(status: string): Html {
  return html`<span class="status-${/^[a-z]+$/.test(status) ? status : 'unknown'}">${status}</span>`;
}

export function card(label: string, value: string | number): Html {
  return html`<div class="card"><span class="muted">${label}</span><b>${value}</b></div>`;
}

/** "← previous · page P of N · S slides · next →", 100 slides a page; `href` builds a page's URL. */
export function slidePager(page: number, slides: number, href: (page: number) => string): Html {
  const pages = Math.max(1, Math.ceil(slides / slidesPerPage));
  const link = (target: number, label: string) => html`<a href="${href(target)}">${label}</a>`;
  return html`<div class="pager">
    ${page > 1 ? link(page - 1, '← previous') : ''}
    <span>page ${page} of ${pages} · ${slides} slides</span>
    ${page < pages ? link(page + 1, 'next →') : ''}
  </div>`;
}
