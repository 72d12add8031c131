import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { compareText, definitionLabels, discoveredLabels } from './class-labels.js';
import { invalidDataset, throwProblems } from './dataset-problems.js';
import type { DatasetProblem } from './dataset-problems.js';
import {
  checkEveryClassHasSamples,
  datasetSplits,
  imageExtensions,
  isDatasetSplit,
  isImageFile,
  sortSamples,
} from './dataset-samples.js';
import type { DatasetLoadOptions, DatasetSample, DatasetSplit, LoadedDataset } from './dataset-samples.js';

// A folder of class folders, `root/<class>/**/*.png`, or split into `root/<split>/<class>/…` with
// split ∈ train | val | test. Images may sit at any depth inside their class folder (releases nest
// them by patient or slide). Names starting with a dot are skipped, as are files that are not
// images (a release's README or label CSV); an image outside any class folder is an error, since
// its class cannot be known.

interface ClassFolder {
  folder: string;
  label: string;
  split?: DatasetSplit;
}

export async function loadImageFolder(root: string, options: DatasetLoadOptions = {}): Promise<LoadedDataset> {
  const source = path.resolve(root);
  const info = await stat(source).catch(() => undefined);
  if (info === undefined) throw invalidDataset(`dataset folder not found: ${source}`, { source });
  if (!info.isDirectory()) throw invalidDataset(`not a folder: ${source}`, { source });

  const problems: DatasetProblem[] = [];
  const top = await listFolder(source);
  const splitNames = top.folders.filter(isDatasetSplit);
  const classFolders: ClassFolder[] = [];
  if (splitNames.length > 0) {
    const others = top.folders.filter((name) => !isDatasetSplit(name));
    if (others.length > 0) {
      throw invalidDataset(
        `${source}: split folders (${splitNames.join(', ')}) sit beside other folders (${others.join(', ')}); ` +
          `use either ${datasetSplits.join('/')} folders holding class folders, or class folders only`,
        { source, splits: splitNames, others },
      );
    }
    for (const split of splitNames) {
      const splitFolder = path.join(source, split);
      const inside = await listFolder(splitFolder);
      problems.push(...strayImages(inside.images, splitFolder));
      for (const label of inside.folders) classFolders.push({ folder: path.join(splitFolder, label), label, split });
    }
  } else {
    for (const label of top.folders) classFolders.push({ folder: path.join(source, label), label });
  }
  problems.push(...strayImages(top.images, source));

  const labels = options.definition
    ? definitionLabels(options.definition)
    : discoveredLabels(classFolders.map((entry) => entry.label));
  const samples: DatasetSample[] = [];
  for (const entry of classFolders) {
    const label = labels.indexOf(entry.label);
    if (label === undefined) {
      problems.push({ path: entry.folder, message: `unknown class folder (expected ${labels.expected})` });
      continue;
    }
    const found = await imagesUnder(entry.folder);
    for (const file of found.images) {
      samples.push(entry.split === undefined ? { path: file, label } : { path: file, label, split: entry.split });
    }
    problems.push(...found.broken.map((file) => ({ path: file, message: 'link to a missing image' })));
  }
  if (problems.length > 0) throwProblems(source, 'problems with the folder layout', problems);
  if (samples.length === 0) {
    throw invalidDataset(`${source}: no images (${imageExtensions.join(', ')}) in class folders`, { source });
  }
  checkEveryClassHasSamples(source, labels.classes, samples);
  return { classes: labels.classes, samples: sortSamples(samples) };
}

function strayImages(images: readonly string[], folder: string): DatasetProblem[] {
  return images.map((name) => ({
    path: path.join(folder, name),
    message: 'image outside any class folder',
  }));
}

interface FolderListing {
  folders: string[];
  images: string[];
  /** Links named like images whose target is gone. */
  broken: string[];
}

async function listFolder(folder: string): Promise<FolderListing> {
  const listing: FolderListing = { folders: [], images: [], broken: [] };
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const kind = await entryKind(path.join(folder, entry.name), entry);
    if (kind === 'folder') listing.folders.push(entry.name);
    else if (kind === 'file' && isImageFile(entry.name)) listing.images.push(entry.name);
    else if (kind === 'broken' && isImageFile(entry.name)) listing.broken.push(entry.name);
  }
  listing.folders.sort(compareText);
  listing.images.sort(compareText);
  return listing;
}

/** Every image below `folder`, following links to folders but never the same folder twice. */
async function imagesUnder(folder: string): Promise<{ images: string[]; broken: string[] }> {
  const images: string[] = [];
  const broken: string[] = [];
  const seen = new Set<string>();
  const walk = async (current: string): Promise<void> => {
    const real = await realpath(current);
    if (seen.has(real)) return;
    seen.add(real);
    const listing = await listFolder(current);
    for (const name of listing.images) images.push(path.join(current, name));
    for (const name of listing.broken) broken.push(path.join(current, name));
    for (const name of listing.folders) await walk(path.join(current, name));
  };
  await walk(folder);
  return { images, broken };
}

async function entryKind(
  file: string,
  entry: { isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean },
): Promise<'folder' | 'file' | 'broken' | 'other'> {
  if (entry.isDirectory()) return 'folder';
  if (entry.isFile()) return 'file';
  if (!entry.isSymbolicLink()) return 'other';
  const target = await stat(file).catch(() => undefined);
  if (target === undefined) return 'broken';
  return target.isDirectory() ? 'folder' : target.isFile() ? 'file' : 'other';
}
