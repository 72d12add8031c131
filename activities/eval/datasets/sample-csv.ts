import path from 'node:path';
import { definitionLabels, discoveredLabels } from './class-labels.js';
import { readCsvFile } from './csv-file.js';
import { invalidDataset, throwProblems } from './dataset-problems.js';
import type { DatasetProblem } from './dataset-problems.js';
import { checkEveryClassHasSamples, datasetSplits, isDatasetSplit, sortSamples } from './dataset-samples.js';
import type { DatasetLoadOptions, DatasetSample, LoadedDataset } from './dataset-samples.js';
import { missingFiles } from './missing-files.js';

// A CSV of images: header `path,label` and optionally `split`. Paths are relative to the CSV's
// folder (absolute paths are kept). A label is read as described in class-labels.ts: with a
// definition, the release's label, an alias, the class name or the class index; without one, the
// distinct labels are the classes (integers as indices, otherwise sorted). With a `split` column
// every row names its split (train, val or test).

const columns = { required: ['path', 'label'], optional: ['split'] } as const;

export async function loadSampleCsv(csvFile: string, options: DatasetLoadOptions = {}): Promise<LoadedDataset> {
  const source = path.resolve(csvFile);
  const folder = path.dirname(source);
  const { rows, problems } = await readCsvFile(source, columns);
  const labels = options.definition
    ? definitionLabels(options.definition)
    : discoveredLabels(rows.map((row) => row.cells.label ?? '').filter((label) => label !== ''));

  const samples: (DatasetSample & { line: number })[] = [];
  const lineOfPath = new Map<string, number>();
  for (const { line, cells } of rows) {
    const rowProblems: DatasetProblem[] = [];
    const file = cells.path ?? '';
    const labelText = cells.label ?? '';
    const splitText = cells.split;
    if (file === '') rowProblems.push({ line, message: 'path is empty' });
    const label = labelText === '' ? undefined : labels.indexOf(labelText);
    if (labelText === '') rowProblems.push({ line, message: 'label is empty' });
    else if (label === undefined) {
      rowProblems.push({ line, message: `unknown label ${JSON.stringify(labelText)} (expected ${labels.expected})` });
    }
    if (splitText !== undefined && !isDatasetSplit(splitText)) {
      rowProblems.push({
        line,
        message: `split ${JSON.stringify(splitText)} is not one of ${datasetSplits.join(', ')}`,
      });
    }
    const resolved = file === '' ? undefined : path.resolve(folder, file);
    const earlier = resolved === undefined ? undefined : lineOfPath.get(resolved);
    if (earlier !== undefined) rowProblems.push({ line, message: `same image as line ${earlier}: ${file}` });
    else if (resolved !== undefined) lineOfPath.set(resolved, line);
    if (rowProblems.length > 0 || resolved === undefined || label === undefined) {
      problems.push(...rowProblems);
      continue;
    }
    const sample = { line, path: resolved, label };
    samples.push(splitText !== undefined && isDatasetSplit(splitText) ? { ...sample, split: splitText } : sample);
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (problems.length > 0)
    throwProblems(source, `row${problems.length === 1 ? ' has a problem' : 's have problems'}`, problems);

  const missing = await missingFiles(samples);
  if (missing.length > 0) throwProblems(source, `image${missing.length === 1 ? ' is' : 's are'} missing`, missing);
  if (samples.length === 0) throw invalidDataset(`${source}: no images listed`, { source });
  checkEveryClassHasSamples(source, labels.classes, samples);
  return {
    classes: labels.classes,
    samples: sortSamples(samples.map(({ line: _line, ...sample }) => sample)),
  };
}
