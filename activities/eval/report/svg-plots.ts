import type { RocCurve } from '../eval-types.js';
import { escapeXml, formatPercent, svgNumber as n } from './report-format.js';

// The report's plots as standalone SVG documents: pure string builders, so the same inputs give
// the same bytes (reports diff cleanly and tests can compare). Long class names are shortened on
// the axes; the full name is kept in a <title> (a tooltip in browsers).

const font = 'font-family="Helvetica, Arial, sans-serif"';
const charWidth = 6.2;
const maxLabelChars = 28;

/** A 10-colour categorical palette (matplotlib's tab10); curves beyond ten also change dash. */
const palette = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
const dashes = ['', '6 3', '2 2', '8 3 2 3'];

function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" ${font} font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${n(width)}" height="${n(height)}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function shortLabel(label: string): string {
  return label.length > maxLabelChars ? `${label.slice(0, maxLabelChars - 1)}…` : label;
}

function labelWidth(labels: readonly string[]): number {
  const longest = Math.max(0, ...labels.map((label) => shortLabel(label).length));
  return longest * charWidth + 10;
}

/** A text element; `label` is shortened when `full` is set and keeps the full text as a tooltip. */
function text(x: number, y: number, content: string, attributes = '', full = false): string {
  const shown = full ? shortLabel(content) : content;
  const tooltip = full && shown !== content ? `<title>${escapeXml(content)}</title>` : '';
  return `<text x="${n(x)}" y="${n(y)}"${attributes === '' ? '' : ` ${attributes}`}>${tooltip}${escapeXml(shown)}</text>`;
}

/** White → dark blue by `share` in [0, 1]. */
function heatColour(share: number): string {
  const t = Math.min(1, Math.max(0, Number.isFinite(share) ? share : 0));
  const channel = (from: number, to: number) =>
    Math.round(from + (to - from) * t)
      .toString(16)
      .padStart(2, '0');
  return `#${channel(255, 8)}${channel(255, 81)}${channel(255, 156)}`;
}

/**
 * A confusion-matrix heatmap: rows are true classes, columns predicted classes, each cell shows its
 * count and is coloured by its share of the row (so a rare class's errors are as visible as a
 * common one's).
 */
export function confusionMatrixSvg(classes: readonly string[], confusion: readonly (readonly number[])[]): string {
  const count = classes.length;
  const cell = count <= 10 ? 44 : 32;
  const label = labelWidth(classes);
  const left = 28 + label;
  const top = 34;
  const grid = count * cell;
  // Column labels are turned 45°, so they reach down about 0.7 of their length.
  const bottomLabels = label * 0.7 + 12;
  const title = 'Confusion matrix (colour: share of the true class)';
  const width = Math.max(left + grid + 24, 24 + title.length * 6.8);
  const height = top + grid + bottomLabels + 28;
  const body: string[] = [text(12, 20, title, 'font-size="12" font-weight="bold"')];
  if (count === 0) body.push(text(left, top + 20, 'no classes'));
  classes.forEach((name, row) => {
    const values = confusion[row] ?? [];
    const total = values.reduce((sum, value) => sum + (Number.isFinite(value) ? value : 0), 0);
    body.push(text(left - 6, top + row * cell + cell / 2 + 4, name, 'text-anchor="end"', true));
    classes.forEach((_, column) => {
      const value = values[column] ?? 0;
      const share = total > 0 ? value / total : 0;
      const x = left + column * cell;
      const y = top + row * cell;
      body.push(
        `<rect x="${n(x)}" y="${n(y)}" width="${cell}" height="${cell}" fill="${heatColour(share)}" stroke="#d0d0d0" stroke-width="0.5"/>`,
        text(
          x + cell / 2,
          y + cell / 2 + 4,
          String(value),
          `text-anchor="middle" font-size="${cell >= 40 ? 12 : 9}" fill="${share > 0.5 ? '#ffffff' : '#000000'}"`,
        ),
      );
    });
  });
  classes.forEach((name, column) => {
    const x = left + column * cell + cell / 2;
    const y = top + grid + 10;
    body.push(text(x, y, name, `text-anchor="end" transform="rotate(-45 ${n(x)} ${n(y)})"`, true));
  });
  const middle = top + grid / 2;
  body.push(
    text(14, middle, 'True class', `text-anchor="middle" transform="rotate(-90 14 ${n(middle)})"`),
    text(left + grid / 2, height - 8, 'Predicted class', 'text-anchor="middle"'),
  );
  return svgDocument(width, height, 'Confusion matrix', body);
}

export interface BarChartOptions {
  title: string;
  /** The value a full-length bar stands for (1 for rates). */
  max?: number;
  /** How a value is printed beside its bar: percentages for rates by default. */
  format?: (value: number) => string;
}

/** Horizontal bars, one per label (per-class accuracy), with the value printed beside each. */
export function barChartSvg(labels: readonly string[], values: readonly number[], options: BarChartOptions): string {
  const max = options.max !== undefined && options.max > 0 ? options.max : 1;
  const format = options.format ?? formatPercent;
  const row = 22;
  const label = labelWidth(labels);
  const left = 12 + label;
  const top = 36;
  const area = 320;
  const width = left + area + 70;
  const height = top + Math.max(1, labels.length) * row + 30;
  const body: string[] = [text(12, 20, options.title, 'font-size="12" font-weight="bold"')];
  for (let tick = 0; tick <= 4; tick++) {
    const x = left + (area * tick) / 4;
    body.push(
      `<line x1="${n(x)}" y1="${top - 4}" x2="${n(x)}" y2="${n(height - 24)}" stroke="#e0e0e0"/>`,
      text(x, height - 10, format((max * tick) / 4), 'text-anchor="middle" fill="#555555"'),
    );
  }
  if (labels.length === 0) body.push(text(left + 6, top + 15, 'no data'));
  labels.forEach((name, index) => {
    const value = values[index] ?? Number.NaN;
    const y = top + index * row;
    const length = Number.isFinite(value) ? (Math.min(Math.max(value, 0), max) / max) * area : 0;
    body.push(
      text(left - 6, y + 15, name, 'text-anchor="end"', true),
      `<rect x="${n(left)}" y="${n(y + 3)}" width="${n(length)}" height="${row - 6}" fill="#4c78a8"/>`,
      text(left + length + 4, y + 15, format(value)),
    );
  });
  return svgDocument(width, height, options.title, body);
}

/** ROC curves with the chance diagonal and a legend giving each curve's AUC. */
export function rocCurvesSvg(curves: readonly RocCurve[]): string {
  const size = 320;
  const left = 56;
  const top = 34;
  const legendWidth = labelWidth(curves.map((curve) => `${curve.className} (AUC 100.0%)`)) + 40;
  const width = left + size + 24 + legendWidth;
  const height = Math.max(top + size + 48, top + curves.length * 18 + 20);
  const x = (fpr: number) => left + fpr * size;
  const y = (tpr: number) => top + size - tpr * size;
  const body: string[] = [text(left, 20, 'ROC curves', 'font-size="12" font-weight="bold"')];
  for (let tick = 0; tick <= 5; tick++) {
    const value = tick / 5;
    body.push(
      `<line x1="${n(x(value))}" y1="${top}" x2="${n(x(value))}" y2="${top + size}" stroke="#eeeeee"/>`,
      `<line x1="${left}" y1="${n(y(value))}" x2="${left + size}" y2="${n(y(value))}" stroke="#eeeeee"/>`,
      text(x(value), top + size + 16, value.toFixed(1), 'text-anchor="middle" fill="#555555"'),
      text(left - 6, y(value) + 4, value.toFixed(1), 'text-anchor="end" fill="#555555"'),
    );
  }
  body.push(
    `<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="#555555"/>`,
    `<line x1="${left}" y1="${top + size}" x2="${left + size}" y2="${top}" stroke="#999999" stroke-dasharray="4 4"/>`,
    text(left + size / 2, top + size + 36, 'False positive rate', 'text-anchor="middle"'),
    text(
      16,
      top + size / 2,
      'True positive rate',
      `text-anchor="middle" transform="rotate(-90 16 ${n(top + size / 2)})"`,
    ),
  );
  if (curves.length === 0) body.push(text(left + 10, top + 20, 'no curves'));
  curves.forEach((curve, index) => {
    const colour = palette[index % palette.length] ?? '#000000';
    const dash = dashes[Math.floor(index / palette.length) % dashes.length] ?? '';
    const dashAttribute = dash === '' ? '' : ` stroke-dasharray="${dash}"`;
    body.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2"${dashAttribute} points="${curvePoints(curve, x, y)}"/>`,
    );
    const legendX = left + size + 24;
    const legendY = top + 8 + index * 18;
    body.push(
      `<line x1="${legendX}" y1="${legendY}" x2="${legendX + 22}" y2="${legendY}" stroke="${colour}" stroke-width="2"${dashAttribute}/>`,
      text(legendX + 28, legendY + 4, `${curve.className} (AUC ${formatPercent(curve.auc)})`, '', true),
    );
  });
  return svgDocument(width, height, 'ROC curves', body);
}

/** The curve's points in plot coordinates, skipping non-numbers and repeats after rounding. */
function curvePoints(curve: RocCurve, x: (fpr: number) => number, y: (tpr: number) => number): string {
  const points: string[] = [];
  const length = Math.min(curve.fpr.length, curve.tpr.length);
  for (let i = 0; i < length; i++) {
    const fpr = curve.fpr[i] ?? Number.NaN;
    const tpr = curve.tpr[i] ?? Number.NaN;
    if (!Number.isFinite(fpr) || !Number.isFinite(tpr)) continue;
    const point = `${n(x(fpr))},${n(y(tpr))}`;
    if (points[points.length - 1] !== point) points.push(point);
  }
  return points.join(' ');
}
