import type { EvalReport } from '../eval-types.js';
import { reportDocument } from './report-document.js';
import type { Block } from './report-document.js';
import { escapeMarkdown as md } from './report-format.js';

// report.md: the report in Markdown, with each plot as an SVG file linked by its relative name.
// The caller writes `files` next to report.md.

export interface MarkdownReport {
  markdown: string;
  /** SVG file name → SVG text, for every plot the Markdown links. */
  files: Record<string, string>;
}

export function renderMarkdownReport(report: EvalReport): MarkdownReport {
  const document = reportDocument(report);
  const files: Record<string, string> = {};
  const parts = document.blocks.map((block) => {
    if (block.kind === 'figure') files[block.file] = block.svg;
    return renderBlock(block);
  });
  return { markdown: `${parts.join('\n\n')}\n`, files };
}

function renderBlock(block: Block): string {
  switch (block.kind) {
    case 'heading':
      return `${'#'.repeat(block.level)} ${md(block.text)}`;
    case 'paragraph':
      return md(block.text);
    case 'facts':
      return block.items.map(([label, value]) => `- **${md(label)}:** ${md(value)}`).join('\n');
    case 'list':
      return block.items.map((item) => `- ${md(item)}`).join('\n');
    case 'table': {
      const row = (cells: readonly string[]) => `| ${cells.map(md).join(' | ')} |`;
      const rule = `| ${block.header.map((_, index) => (block.numeric[index] === true ? '---:' : '---')).join(' | ')} |`;
      return [row(block.header), rule, ...block.rows.map(row)].join('\n');
    }
    case 'figure':
      return `![${md(block.caption)}](${block.file})`;
  }
}
