import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { PathgenError } from '../common/errors.js';
import { listAll } from '../store/object-store.js';
import type { ObjectInfo, ObjectStore } from '../store/object-store.js';

// A CLIP model on disk, as infra/export-clip-onnx.py writes it:
//   config.json          what this file's schema describes
//   image_encoder.onnx   pixel_values float32 [N, 3, S, S] → image_embeds float32 [N, embedDim]
//   text_encoder.onnx    input_ids int64 [N, contextLength] → text_embeds float32 [N, embedDim]
//   tokenizer file       bpe_simple_vocab_16e6.txt.gz (open_clip) or tokenizer.json (Hugging Face)
// Embeddings leave the encoders unnormalised; the runtime L2-normalises them.

export type ModelDirectoryErrorCode = 'ModelNotFound' | 'ModelInvalid';

export const configFileName = 'config.json';

const nonEmpty = z.string().min(1);
// A plain file name inside the directory: nothing that could point outside it.
const fileName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a plain file name inside the model directory');
const channelTriple = z.tuple([z.number(), z.number(), z.number()]);

const encoder = z.strictObject({
  file: fileName,
  /** Name of the graph input. */
  input: nonEmpty,
  /** Name of the graph output holding the (unnormalised) embeddings. */
  output: nonEmpty,
});

export const ClipModelConfig = z.strictObject({
  name: nonEmpty,
  /** Part of the session cache key: a new export must bump it. */
  version: nonEmpty,
  embedDim: z.number().int().positive(),
  /** exp of the trained logit scale (100 for PathGen's models). */
  logitScale: z.number().positive(),
  contextLength: z.number().int().positive(),
  tokenizer: fileName.refine(
    (name) => name.endsWith('.json') || name.endsWith('.txt.gz') || name.endsWith('.txt'),
    'must be a tokenizer.json or an open_clip .txt.gz / .txt vocabulary',
  ),
  preprocess: z.strictObject({
    imageSize: z.number().int().positive(),
    mean: channelTriple,
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
    resizeMode: z.enum(['shortest', 'squash']),
    interpolation: z.enum(['bicubic', 'bilinear']),
  }),
  imageEncoder: encoder,
  textEncoder: encoder,
});
export type ClipModelConfig = z.infer<typeof ClipModelConfig>;

/** A model directory whose config is valid and whose files exist. */
export interface ClipModelDirectory {
  /** Absolute path. */
  dir: string;
  config: ClipModelConfig;
  imageEncoderPath: string;
  textEncoderPath: string;
  tokenizerPath: string;
}

/** A local folder, or a prefix in an object store that is copied into `cacheDir` once per content. */
export type ClipModelSource = string | { store: ObjectStore; prefix: string; cacheDir: string };

export async function readClipModelDirectory(dir: string): Promise<ClipModelDirectory> {
  const resolved = path.resolve(dir);
  if (!(await isDirectory(resolved))) {
    throw new PathgenError<ModelDirectoryErrorCode>('ModelNotFound', `no model directory at ${resolved}`, {
      dir: resolved,
    });
  }
  const config = parseConfig(await readConfigText(resolved), resolved);
  const files = {
    imageEncoderPath: config.imageEncoder.file,
    textEncoderPath: config.textEncoder.file,
    tokenizerPath: config.tokenizer,
  };
  const paths = Object.fromEntries(
    await Promise.all(
      Object.entries(files).map(async ([role, file]) => {
        const full = path.join(resolved, file);
        if (!(await isFile(full))) {
          throw new PathgenError<ModelDirectoryErrorCode>(
            'ModelNotFound',
            `model directory ${resolved} has no ${file}`,
            {
              dir: resolved,
              file,
            },
          );
        }
        return [role, full] as const;
      }),
    ),
  ) as Record<keyof typeof files, string>;
  return { dir: resolved, config, ...paths };
}

/** Validates config.json text; a bad field is `ModelInvalid` naming the field. */
export function parseConfig(text: string, dir: string): ClipModelConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new PathgenError<ModelDirectoryErrorCode>(
      'ModelInvalid',
      `${configFileName} in ${dir} is not JSON`,
      { dir, file: configFileName },
      { cause: error },
    );
  }
  const result = ClipModelConfig.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }));
  const first = issues[0];
  const where = first?.field === '' ? 'top level' : first?.field;
  throw new PathgenError<ModelDirectoryErrorCode>(
    'ModelInvalid',
    `${configFileName} in ${dir}: ${where}: ${first?.message ?? 'invalid'}`,
    { dir, file: configFileName, field: first?.field, issues },
  );
}

export interface FetchedModelDirectory {
  dir: string;
  /** False when the cache already held these exact objects. */
  downloaded: boolean;
}

/**
 * Copies every object under `prefix` into a folder of `cacheDir` named after the objects' keys and
 * etags (size and modification time where a store has no etag), so a second call costs one listing.
 * The folder appears whole or not at all: it is filled under a temporary name and renamed into place.
 */
export async function fetchClipModelDirectory(
  store: ObjectStore,
  prefix: string,
  cacheDir: string,
  signal?: AbortSignal,
): Promise<FetchedModelDirectory> {
  const folderPrefix = prefix.endsWith('/') || prefix === '' ? prefix : `${prefix}/`;
  const objects: ObjectInfo[] = [];
  for await (const object of listAll(store, folderPrefix)) objects.push(object);
  if (objects.length === 0) {
    throw new PathgenError<ModelDirectoryErrorCode>('ModelNotFound', `no model under ${store.description}/${prefix}`, {
      store: store.description,
      prefix,
    });
  }
  const target = path.resolve(cacheDir, contentKey(folderPrefix, objects));
  if (await isDirectory(target)) return { dir: target, downloaded: false };

  const temp = `${target}.partial-${randomUUID()}`;
  try {
    for (const object of objects) {
      signal?.throwIfAborted();
      const file = path.join(temp, ...object.key.slice(folderPrefix.length).split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await pipeline(await store.getStream(object.key), createWriteStream(file), { signal });
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    // Another process finished the same download first: its copy is as good as ours.
    if (isRenameClash(error) && (await isDirectory(target))) return { dir: target, downloaded: false };
    throw error;
  }
  return { dir: target, downloaded: true };
}

/** The local directory of a source, downloading a store prefix when its content is not cached. */
export async function resolveClipModelDirectory(
  source: ClipModelSource,
  signal?: AbortSignal,
): Promise<ClipModelDirectory> {
  if (typeof source === 'string') return readClipModelDirectory(source);
  const fetched = await fetchClipModelDirectory(source.store, source.prefix, source.cacheDir, signal);
  return readClipModelDirectory(fetched.dir);
}

function contentKey(prefix: string, objects: readonly ObjectInfo[]): string {
  const hash = createHash('sha256').update(prefix);
  for (const object of [...objects].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const version = object.etag ?? `${object.size}:${object.lastModified.getTime()}`;
    hash.update(`\0${object.key}\0${version}`);
  }
  return hash.digest('hex').slice(0, 32);
}

async function readConfigText(dir: string): Promise<string> {
  try {
    return await readFile(path.join(dir, configFileName), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') {
      throw new PathgenError<ModelDirectoryErrorCode>(
        'ModelNotFound',
        `model directory ${dir} has no ${configFileName}`,
        {
          dir,
          file: configFileName,
        },
      );
    }
    throw error;
  }
}

async function isDirectory(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isDirectory() ?? false;
}

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() ?? false;
}

function isRenameClash(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}
