import { stat } from 'node:fs/promises';
import type { DatasetProblem } from './dataset-problems.js';

// Checks that files a CSV names exist, a bounded number at a time: a 100,000-row CSV on a network
// disk should neither take one round trip per row in sequence nor open 100,000 requests at once.

const concurrency = 32;

export async function missingFiles(entries: readonly { line: number; path: string }[]): Promise<DatasetProblem[]> {
  const missing = new Array<DatasetProblem | undefined>(entries.length);
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const index = next++;
      const entry = entries[index];
      if (entry === undefined) continue;
      const info = await stat(entry.path).catch(() => undefined);
      if (info === undefined) missing[index] = { line: entry.line, path: entry.path, message: 'file not found' };
      else if (!info.isFile()) missing[index] = { line: entry.line, path: entry.path, message: 'not a file' };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
  return missing.filter((problem) => problem !== undefined);
}
