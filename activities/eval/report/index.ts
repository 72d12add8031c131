// The public surface of evaluation reports: Markdown (with SVG plot files) and self-contained HTML
// renderings of an EvalReport, and the plot builders they use.

export { renderMarkdownReport, type MarkdownReport } from './markdown-report.js';
export { renderHtmlReport } from './html-report.js';
export { barChartSvg, confusionMatrixSvg, rocCurvesSvg, type BarChartOptions } from './svg-plots.js';
export { escapeMarkdown, escapeXml, formatPercent, slug } from './report-format.js';
