import { splitSentences } from './sentences.js';

// A pathology report as the findings extractor reads it: the lines of its microscopic and
// diagnostic sections, each either a synoptic "Key: value" line or free-text sentences. Gross
// description and clinical history are left out: they describe the specimen as received and the
// patient, not the tissue under the microscope.

export type ReportLine = { kind: 'field'; key: string; value: string } | { kind: 'sentence'; text: string };

const headings = [
  'final pathologic diagnosis',
  'final diagnosis',
  'pathologic diagnosis',
  'pathological diagnosis',
  'surgical pathology diagnosis',
  'diagnosis',
  'diagnoses',
  'microscopic description',
  'microscopic examination',
  'microscopic',
  'synoptic report',
  'synoptic summary',
  'cancer summary',
  'summary',
  'comment',
  'comments',
  'note',
  'addendum',
  'frozen section diagnosis',
  'intraoperative consultation',
  'gross description',
  'gross examination',
  'gross',
  'macroscopic description',
  'clinical history',
  'clinical information',
  'clinical data',
  'history',
  'specimens submitted',
  'specimen submitted',
  'specimens received',
];
const skippedSections = /^(?:gross|macroscopic|clinical|history|specimens? (?:submitted|received))/;

const headingPattern = new RegExp(
  `^\\s*(?:[*#]+\\s*)?(${headings.map((h) => h.replace(/ /g, '\\s+')).join('|')})\\s*(?::|-{1,2}|$)\\s*(.*)$`,
  'i',
);
const fieldPattern = /^\s*(?:[-*•]\s*)?([A-Za-z][A-Za-z0-9 /(),&'-]{1,60}?)\s*:\s*(\S.*)$/;

export function reportLines(report: string): ReportLine[] {
  const lines: ReportLine[] = [];
  let skipping = false;
  let prose: string[] = [];
  const flush = () => {
    if (prose.length > 0 && !skipping)
      for (const text of splitSentences(prose.join('\n'))) lines.push({ kind: 'sentence', text });
    prose = [];
  };
  for (const raw of report.replace(/\r\n?/g, '\n').split('\n')) {
    const heading = headingPattern.exec(raw);
    if (heading) {
      flush();
      skipping = skippedSections.test((heading[1] ?? '').toLowerCase().replace(/\s+/g, ' '));
      const rest = (heading[2] ?? '').trim();
      if (rest) prose.push(rest);
      continue;
    }
    const field = fieldPattern.exec(raw);
    if (field && !/^[A-Z]$/.test(field[1] ?? '') && !/\.\s/.test(field[1] ?? '')) {
      flush();
      if (!skipping) lines.push({ kind: 'field', key: (field[1] ?? '').trim(), value: (field[2] ?? '').trim() });
      continue;
    }
    if (raw.trim() === '') flush();
    else prose.push(raw);
  }
  flush();
  return lines;
}
