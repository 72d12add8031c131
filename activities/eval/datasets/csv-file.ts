import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { readCsvRecords } from '../../manifest/csv-records.js';
import { csvHeaderErrors } from '../../manifest/csv-table.js';
import type { CsvColumnSpec } from '../../manifest/csv-table.js';
import { invalidDataset, throwProblems } from './dataset-problems.js';
import type { DatasetProblem } from './dataset-problems.js';

// A local CSV file with a header, read whole (evaluation CSVs hold at most a few hundred thousand
// short rows) with the manifest's RFC 4180 reader, so quoting and line numbers work the same way.
// Cells are trimmed; an empty cell is an empty string.

export interface CsvRow {
  /** Physical line where the row starts (the header is line 1 unless blank lines precede it). */
  line: number;
  cells: Record<string, string>;
}

export interface CsvFileContent {
  rows: CsvRow[];
  /** Rows that could not be split into the header's columns. */
  problems: DatasetProblem[];
}

export async function readCsvFile(file: string, columns: CsvColumnSpec): Promise<CsvFileContent> {
  const info = await stat(file).catch(() => undefined);
  if (info === undefined) throw invalidDataset(`CSV file not found: ${file}`, { source: file });
  if (!info.isFile()) throw invalidDataset(`not a file: ${file}`, { source: file });

  const rows: CsvRow[] = [];
  const problems: DatasetProblem[] = [];
  let header: string[] | undefined;
  const stream = createReadStream(file);
  try {
    for await (const record of readCsvRecords(stream)) {
      if ('error' in record) {
        if (header === undefined)
          throwProblems(file, 'problems with the header', [{ line: record.line, message: record.error }]);
        problems.push({ line: record.line, message: record.error });
        if (record.fatal === true) break;
        continue;
      }
      if (header === undefined) {
        header = record.fields.map((name) => name.trim());
        const errors = csvHeaderErrors(header, columns);
        if (errors.length > 0) {
          throwProblems(
            file,
            'problems with the header',
            errors.map((error) => ({ line: record.line, message: `${error.field}: ${error.message}` })),
          );
        }
        continue;
      }
      if (record.fields.length !== header.length) {
        problems.push({
          line: record.line,
          message: `has ${record.fields.length} fields where the header has ${header.length}`,
        });
        continue;
      }
      const cells: Record<string, string> = {};
      header.forEach((name, index) => (cells[name] = (record.fields[index] ?? '').trim()));
      rows.push({ line: record.line, cells });
    }
  } finally {
    stream.destroy();
  }
  if (header === undefined) throw invalidDataset(`${file}: the CSV file is empty (no header)`, { source: file });
  return { rows, problems };
}
