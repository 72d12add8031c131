// Formatting shared by the report renderers and the plots: numbers as people read them, text
// escaped for the format it lands in (class names and dataset names are user data and may hold
// `<`, `&`, `"` or `|`), and file-name-safe slugs.

/** A rate in [0, 1] as a percentage with one decimal ("92.6%"); "n/a" when not a number. */
export function formatPercent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : 'n/a';
}

/** Mean ± standard deviation of a rate over seeds, both in percent. */
export function formatMeanStd(value: { mean: number; std: number }): string {
  return `${formatPercent(value.mean)} ± ${formatPercent(value.std)}`;
}

export function formatShots(shots: number | null): string {
  return shots === null ? 'all' : `${shots}-shot`;
}

export function formatWeightDecay(value: number): string {
  return value === 0 ? '0' : Number.isFinite(value) ? value.toExponential(1) : 'n/a';
}

export function formatCount(value: number): string {
  return Number.isFinite(value) ? String(value) : 'n/a';
}

/** Whole seconds, minutes or hours between two ISO timestamps; "n/a" when either is unreadable. */
export function formatDuration(startedAt: string, finishedAt: string): string {
  const ms = Date.parse(finishedAt) - Date.parse(startedAt);
  if (!Number.isFinite(ms) || ms < 0) return 'n/a';
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const xmlEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for XML or HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => xmlEntities[char] ?? char);
}

/**
 * Text for a Markdown paragraph, heading, table cell or link text: characters that start markup
 * (emphasis, code, links, inline HTML, entities, table pipes) are backslash-escaped, and line
 * breaks, which would end a table row, become spaces.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(/[\\`*_[\]<>|&~#]/g, (char) => `\\${char}`);
}

/** A lowercase, hyphenated form of a name for file names ("CRC-100K (test)" → "crc-100k-test"). */
export function slug(text: string): string {
  const result = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return result === '' ? 'task' : result;
}

/** A number for an SVG attribute: at most two decimals, no trailing zeros, never "-0". */
export function svgNumber(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}
