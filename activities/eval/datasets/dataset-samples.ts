import { compareText } from './class-labels.js';
import type { DatasetDefinition } from './dataset-definition.js';
import { throwProblems } from './dataset-problems.js';

// What every loader returns: the classes in index order and one sample per image, sorted by path
// so two loads of the same data list the same samples in the same order.

export const datasetSplits = ['train', 'val', 'test'] as const;
export type DatasetSplit = (typeof datasetSplits)[number];

export function isDatasetSplit(name: string): name is DatasetSplit {
  return (datasetSplits as readonly string[]).includes(name);
}

export interface DatasetSample {
  /** Absolute path of the image file. */
  path: string;
  /** Class index into `classes`. */
  label: number;
  split?: DatasetSplit;
}

export interface LoadedDataset {
  /** Class labels (folder names or CSV labels) in class-index order. */
  classes: string[];
  samples: DatasetSample[];
}

export interface DatasetLoadOptions {
  /** Maps the release's folder names or labels to classes; without one the labels found are the classes. */
  definition?: DatasetDefinition;
}

export const imageExtensions = ['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.bmp'] as const;

export function isImageFile(name: string): boolean {
  const lower = name.toLowerCase();
  return imageExtensions.some((extension) => lower.endsWith(extension));
}

export function sortSamples<T extends { path: string }>(samples: T[]): T[] {
  return samples.sort((a, b) => compareText(a.path, b.path));
}

/** A class with no sample cannot be scored and usually means a misnamed folder or label. */
export function checkEveryClassHasSamples(
  source: string,
  classes: readonly string[],
  samples: readonly { label: number }[],
  what = 'samples',
): void {
  const counts = new Array<number>(classes.length).fill(0);
  for (const sample of samples) counts[sample.label] = (counts[sample.label] ?? 0) + 1;
  const empty = classes.filter((_, index) => counts[index] === 0);
  if (empty.length > 0) {
    throwProblems(
      source,
      `class${empty.length === 1 ? ' has' : 'es have'} no ${what}`,
      empty.map((label) => ({ message: `class ${JSON.stringify(label)} has no ${what}` })),
    );
  }
}
