import type { EvalReport } from '../eval-types.js';
import { reportDocument } from './report-document.js';
import type { Block } from './report-document.js';
import { escapeXml as html } from './report-format.js';

// report.html: one self-contained page (inline CSS, plots as inline SVG, no scripts, nothing
// fetched), written as well-formed XHTML-compatible markup so any XML tool can read it too.

const style = `
body { font-family: Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; } h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #d6d6d6; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; } dt { font-weight: bold; } dd { margin: 0; }
figure { margin: 1rem 0; overflow-x: auto; } figcaption { font-size: 0.85rem; color: #555; }
`;

export function renderHtmlReport(report: EvalReport): string {
  const document = reportDocument(report);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8" />',
    `<title>${html(document.title)}</title>`,
    `<style>${style}</style>`,
    '</head>',
    '<body>',
    ...document.blocks.map(renderBlock),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function renderBlock(block: Block): string {
  switch (block.kind) {
    case 'heading':
      return `<h${block.level}>${html(block.text)}</h${block.level}>`;
    case 'paragraph':
      return `<p>${html(block.text)}</p>`;
    case 'facts':
      return `<dl>${block.items.map(([label, value]) => `<dt>${html(label)}</dt><dd>${html(value)}</dd>`).join('')}</dl>`;
    case 'list':
      return `<ul>${block.items.map((item) => `<li>${html(item)}</li>`).join('')}</ul>`;
    case 'table': {
      const cell = (tag: 'th' | 'td', text: string, index: number) =>
        `<${tag}${block.numeric[index] === true ? ' class="number"' : ''}>${html(text)}</${tag}>`;
      const head = `<thead><tr>${block.header.map((text, index) => cell('th', text, index)).join('')}</tr></thead>`;
      const rows = block.rows.map((row) => `<tr>${row.map((text, index) => cell('td', text, index)).join('')}</tr>`);
      return `<table>${head}<tbody>${rows.join('')}</tbody></table>`;
    }
    case 'figure':
      return `<figure>${inlineSvg(block.svg)}<figcaption>${html(block.caption)}</figcaption></figure>`;
  }
}

/** An SVG document as an element of the page: HTML knows the SVG namespace, so no URL is needed. */
function inlineSvg(svg: string): string {
  return svg.replace(' xmlns="http://www.w3.org/2000/svg"', '').trim();
}
