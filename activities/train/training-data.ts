import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PathgenError } from '../common/errors.js';
import { exportKeys } from '../contracts/keys.js';
import { readExportPointer } from '../export/export-pointer.js';
import { stageFromStore } from '../staging/slide-cache.js';
import type { ObjectStore } from '../store/object-store.js';
import { expandBracePattern } from './brace-pattern.js';

// What a training stage reads: pathgen exports (by run id, through their LATEST pointer) or any
// WebDataset shards given as a brace pattern with a sample count. Shards are made local for
// open_clip (a file per shard, same names) and hashed, so the trained model's lineage names the
// exact bytes it saw.

export type TrainingDatasetRef =
  { exportRun: string; exportPrefix?: string } | { shards: string; samples: number; name?: string };

export interface ResolvedDataset {
  name: string;
  /** Brace pattern of the shards' store keys, or of absolute local paths. */
  pattern: string;
  location: 'store' | 'local';
  samples: number;
  /** The export version read, for exports. */
  exportVersion?: string;
}

export interface StagedDataset extends ResolvedDataset {
  /** The brace pattern over the local copies, as --train-data takes it. */
  localPattern: string;
  shardHashes: { shard: string; sha256: string; bytes: number }[];
}

export async function resolveTrainingDataset(store: ObjectStore, ref: TrainingDatasetRef): Promise<ResolvedDataset> {
  if ('exportRun' in ref) {
    const prefix = ref.exportPrefix ?? exportKeys.prefix(ref.exportRun);
    const pointer = await readExportPointer(store, prefix);
    if (!pointer || pointer.shardPattern === null || pointer.samples === 0) {
      throw new PathgenError(
        'TrainingDataMissing',
        `run ${ref.exportRun} has no exported shards under ${prefix} (export the run first: pathgenExport)`,
        { exportRun: ref.exportRun, prefix },
      );
    }
    return {
      name: ref.exportRun,
      pattern: pointer.shardPattern,
      location: 'store',
      samples: pointer.samples,
      exportVersion: pointer.version,
    };
  }
  const local = ref.shards.startsWith('/') || ref.shards.startsWith('file://');
  const pattern = ref.shards.startsWith('file://') ? ref.shards.slice('file://'.length) : ref.shards;
  return {
    name: ref.name ?? path.posix.basename(path.posix.dirname(pattern)),
    pattern,
    location: local ? 'local' : 'store',
    samples: ref.samples,
  };
}

export interface StageDatasetOptions {
  store: ObjectStore;
  /** Folder the shards of this dataset are copied into (a store that is not local only). */
  dir: string;
  signal?: AbortSignal;
  onProgress?: (shardsDone: number, shards: number) => void;
}

/** Local files for every shard, each hashed once (the hash is kept beside the copy or in `dir`). */
export async function stageDataset(dataset: ResolvedDataset, options: StageDatasetOptions): Promise<StagedDataset> {
  const locals: string[] = [];
  const shardHashes: StagedDataset['shardHashes'] = [];
  const shards = expandBracePattern(dataset.pattern);
  for (const [index, shard] of shards.entries()) {
    options.signal?.throwIfAborted();
    const localPath = dataset.location === 'local' ? shard : options.store.localFile?.(shard);
    if (localPath !== undefined) {
      const sha256 = await cachedFileHash(localPath, options.dir, shard);
      locals.push(localPath);
      shardHashes.push({ shard, sha256: sha256.hash, bytes: sha256.bytes });
    } else {
      const staged = await stageFromStore(shard, {
        store: options.store,
        dir: options.dir,
        // Training reads every shard every epoch: nothing staged may be trimmed while it runs.
        maxBytes: Number.MAX_SAFE_INTEGER,
        ...(options.signal ? { signal: options.signal } : {}),
      }).catch((error: unknown) => {
        if (error instanceof PathgenError && error.code === 'SlideNotFound') {
          throw new PathgenError('TrainingDataMissing', `shard ${shard} of ${dataset.name} is not in the store`, {
            shard,
          });
        }
        throw error;
      });
      // Staged copies live in one folder each; a link per shard under its own name puts them side by
      // side again, so --train-data stays one short brace pattern however many shards there are.
      const link = path.join(options.dir, 'shards', path.posix.basename(shard));
      await mkdir(path.dirname(link), { recursive: true });
      await rm(link, { force: true });
      await symlink(staged.path, link);
      locals.push(link);
      shardHashes.push({ shard, sha256: staged.sha256, bytes: staged.size });
    }
    options.onProgress?.(index + 1, shards.length);
  }
  return { ...dataset, localPattern: patternOver(locals, dataset.name), shardHashes };
}

/**
 * open_clip takes `::`-separated patterns; files in one folder with the shard names of an export
 * collapse to one brace pattern, anything else is listed file by file.
 */
function patternOver(files: string[], name: string): string {
  if (files.length === 0) throw new PathgenError('TrainingDataMissing', `dataset ${name} has no shards`, { name });
  const dirs = new Set(files.map((file) => path.dirname(file)));
  const numbered = files.map((file) => /^(.*?)(\d+)(\.tar)$/.exec(path.basename(file)));
  if (dirs.size === 1 && numbered.every((match) => match !== null)) {
    const first = numbered[0]!;
    const last = numbered[numbered.length - 1]!;
    const [, stem = '', firstNumber = ''] = first;
    const contiguous = numbered.every((match, i) => {
      const [, matchStem = '', number = ''] = match;
      return matchStem === stem && Number(number) === Number(firstNumber) + i && number.length === firstNumber.length;
    });
    if (contiguous) {
      const dir = [...dirs][0]!;
      return files.length === 1 ? files[0]! : path.join(dir, `${first[1]}{${first[2]}..${last[2]}}${first[3]}`);
    }
  }
  return files.join('::');
}

async function cachedFileHash(file: string, cacheDir: string, shard: string): Promise<{ hash: string; bytes: number }> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    throw new PathgenError('TrainingDataMissing', `shard ${shard} is missing (${file})`, { shard, file });
  }
  const identity = createHash('sha256').update(`${file}\n${info.size}\n${info.mtimeMs}`).digest('hex').slice(0, 32);
  const record = path.join(cacheDir, 'hashes', `${identity}.sha256`);
  const known = await readFile(record, 'utf8').catch(() => undefined);
  if (known) return { hash: known.trim(), bytes: info.size };
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  await mkdir(path.dirname(record), { recursive: true });
  await writeFile(record, digest);
  return { hash: digest, bytes: info.size };
}
