import path from 'node:path';
import { compareText, discoveredLabels, listedLabels } from './class-labels.js';
import { readCsvFile } from './csv-file.js';
import { parseClassIndex } from './dataset-definition.js';
import { invalidDataset, throwProblems } from './dataset-problems.js';
import type { DatasetProblem } from './dataset-problems.js';
import { checkEveryClassHasSamples, datasetSplits, isDatasetSplit } from './dataset-samples.js';
import type { DatasetSplit } from './dataset-samples.js';
import { missingFiles } from './missing-files.js';

// The splits of a slide-level task (CAMELYON16, BRACS, …): header `slide,label,split` and
// optionally `path` (a slide file, relative to the CSV's folder) or `uri` (an s3:// URI or store
// key, passed on as written). One row per slide; split ∈ train | val | test. Labels are the given
// classes (by label or index) or, without them, the distinct labels found (see class-labels.ts).

const columns = { required: ['slide', 'label', 'split'], optional: ['path', 'uri'] } as const;

export interface SlideSplitEntry {
  slide: string;
  label: number;
  split: DatasetSplit;
  /** Absolute path of the slide file. */
  path?: string;
  uri?: string;
}

export interface SlideSplits {
  /** Class labels in class-index order. */
  classes: string[];
  /** Sorted by slide id. */
  slides: SlideSplitEntry[];
}

export interface SplitCsvOptions {
  /** Class labels in index order; without them the labels found in the file are the classes. */
  classes?: readonly string[];
}

export async function readSplitCsv(csvFile: string, options: SplitCsvOptions = {}): Promise<SlideSplits> {
  const source = path.resolve(csvFile);
  const folder = path.dirname(source);
  if (options.classes !== undefined) checkGivenClasses(source, options.classes);
  const { rows, problems } = await readCsvFile(source, columns);
  const labels = options.classes
    ? listedLabels(options.classes)
    : discoveredLabels(rows.map((row) => row.cells.label ?? '').filter((label) => label !== ''));

  const slides: (SlideSplitEntry & { line: number })[] = [];
  const lineOfSlide = new Map<string, number>();
  for (const { line, cells } of rows) {
    const before = problems.length;
    const slide = cells.slide ?? '';
    const labelText = cells.label ?? '';
    const split = cells.split ?? '';
    const file = cells.path ?? '';
    const uri = cells.uri ?? '';
    if (slide === '') problems.push({ line, message: 'slide is empty' });
    const earlier = lineOfSlide.get(slide);
    if (slide !== '' && earlier !== undefined)
      problems.push({ line, message: `slide ${slide} is also on line ${earlier}` });
    else if (slide !== '') lineOfSlide.set(slide, line);
    const label = labels.indexOf(labelText);
    if (labelText === '') problems.push({ line, message: 'label is empty' });
    else if (label === undefined) {
      problems.push({ line, message: `unknown label ${JSON.stringify(labelText)} (expected ${labels.expected})` });
    }
    if (!isDatasetSplit(split)) {
      problems.push({ line, message: `split ${JSON.stringify(split)} is not one of ${datasetSplits.join(', ')}` });
    }
    if (file !== '' && uri !== '') problems.push({ line, message: 'give a path or a uri, not both' });
    if (problems.length > before || label === undefined || !isDatasetSplit(split)) continue;
    const entry: SlideSplitEntry & { line: number } = { line, slide, label, split };
    if (file !== '') entry.path = path.resolve(folder, file);
    if (uri !== '') entry.uri = uri;
    slides.push(entry);
  }
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (problems.length > 0)
    throwProblems(source, `row${problems.length === 1 ? ' has a problem' : 's have problems'}`, problems);

  const local = slides.flatMap((entry) => (entry.path === undefined ? [] : [{ line: entry.line, path: entry.path }]));
  const missing = await missingFiles(local);
  if (missing.length > 0) throwProblems(source, `slide file${missing.length === 1 ? ' is' : 's are'} missing`, missing);
  if (slides.length === 0) throw invalidDataset(`${source}: no slides listed`, { source });
  checkEveryClassHasSamples(source, labels.classes, slides, 'slides');
  const emptySplits = (['train', 'test'] as const).filter((split) => !slides.some((entry) => entry.split === split));
  if (emptySplits.length > 0) {
    throwProblems(
      source,
      `split${emptySplits.length === 1 ? ' has' : 's have'} no slides`,
      emptySplits.map((split) => ({ message: `no slides in split ${split}` })),
    );
  }
  return {
    classes: labels.classes,
    slides: slides.map(({ line: _line, ...entry }) => entry).sort((a, b) => compareText(a.slide, b.slide)),
  };
}

/** Given labels must be distinct, and one that reads as an index must be that index. */
function checkGivenClasses(source: string, classes: readonly string[]): void {
  const problems: DatasetProblem[] = [];
  if (classes.length < 2) problems.push({ message: 'a task needs at least two classes' });
  classes.forEach((label, index) => {
    if (label.trim() === '') problems.push({ message: `class ${index} is empty` });
    if (classes.indexOf(label) !== index) problems.push({ message: `class ${JSON.stringify(label)} appears twice` });
    const asIndex = parseClassIndex(label);
    if (asIndex !== undefined && asIndex !== index) {
      problems.push({ message: `class ${JSON.stringify(label)} reads as index ${asIndex} but is class ${index}` });
    }
  });
  if (problems.length > 0) throwProblems(source, 'problems with the given classes', problems);
}
