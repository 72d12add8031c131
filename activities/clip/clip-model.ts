import { PathgenError } from '../common/errors.js';
import { ClipSessionWorker } from './clip-session.js';
import type { EncoderKind, EncoderSignature, ExecutionProvider, OrtLogLevel } from './clip-session.js';
import { ClipTokenizer } from './clip-tokenizer.js';
import { resolveClipModelDirectory } from './model-directory.js';
import type { ClipModelConfig, ClipModelDirectory, ClipModelSource } from './model-directory.js';

// The select stage's CLIP: a model directory's two encoders behind one small API that returns
// L2-normalised embeddings, so that score = logitScale × dot(image, text).

export interface ClipModelOptions {
  /** In order of preference; 'cpu' is always the last resort. Default ['cpu']. */
  executionProviders?: readonly ExecutionProvider[];
  /** onnxruntime's intra-op threads (default: onnxruntime's choice, one per core). */
  intraOpNumThreads?: number;
  /** Images (and texts) per session run. Default 32. */
  batchSize?: number;
  /** Told when the model runs somewhere other than asked (no CUDA here). */
  onWarning?: (message: string) => void;
  /**
   * Level of onnxruntime's own messages (to stderr) for these sessions. Default 'error'. Messages
   * outside a session keep the level of the first session created in the process.
   */
  ortLogLevel?: OrtLogLevel;
  /** Cancels the download of a store model. */
  signal?: AbortSignal;
}

export interface ClipModel {
  readonly config: ClipModelConfig;
  /** The local directory the model was loaded from (the cache folder for a store model). */
  readonly dir: string;
  /** Where the sessions actually run. */
  readonly executionProvider: ExecutionProvider;
  readonly tokenizer: ClipTokenizer;
  /** `count` images as NCHW float32 (`count × 3 × S × S`, already preprocessed) → `count × embedDim` unit rows. */
  embedImages(pixels: Float32Array, count: number): Promise<Float32Array>;
  /** Tokenised with the model's tokenizer (cut to its context) → `texts.length × embedDim` unit rows. */
  embedTexts(texts: readonly string[]): Promise<Float32Array>;
  /** Releases this handle; the sessions go when the last handle of the model is released. */
  dispose(): Promise<void>;
}

interface SharedSessions {
  worker: ClipSessionWorker;
  tokenizer: ClipTokenizer;
  handles: number;
  /** Set when the last handle let go: a loader that raced with that must open the model anew. */
  closed: boolean;
}

// One pair of sessions per model and runtime setting per process: concurrent activities share it.
const sessionCache = new Map<string, Promise<SharedSessions>>();

/** Models with live sessions in this process (for diagnostics and tests). */
export function cachedClipModelCount(): number {
  return sessionCache.size;
}

export async function loadClipModel(source: ClipModelSource, options: ClipModelOptions = {}): Promise<ClipModel> {
  const batchSize = options.batchSize ?? 32;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new PathgenError('InvalidInput', `batchSize must be a positive integer, got ${batchSize}`, { batchSize });
  }
  const threads = options.intraOpNumThreads;
  if (threads !== undefined && (!Number.isSafeInteger(threads) || threads < 0)) {
    throw new PathgenError('InvalidInput', `intraOpNumThreads must be a non-negative integer, got ${threads}`, {
      intraOpNumThreads: threads,
    });
  }
  const directory = await resolveClipModelDirectory(source, options.signal);
  const providers = options.executionProviders ?? ['cpu'];
  const key = JSON.stringify([directory.dir, directory.config.version, providers, options.intraOpNumThreads ?? 0]);
  const entry = sessionCache.get(key) ?? openAndRemember(key, directory, providers, options);
  const shared = await entry;
  if (shared.closed) return loadClipModel(source, options);
  shared.handles += 1;
  for (const warning of shared.worker.ready.warnings) options.onWarning?.(warning);
  return createHandle(directory, shared, batchSize, async () => {
    shared.handles -= 1;
    if (shared.handles > 0) return;
    shared.closed = true;
    if (sessionCache.get(key) === entry) sessionCache.delete(key);
    await shared.worker.dispose();
  });
}

function openAndRemember(
  key: string,
  directory: ClipModelDirectory,
  providers: readonly ExecutionProvider[],
  options: ClipModelOptions,
): Promise<SharedSessions> {
  const opening = openSessions(directory, providers, options);
  sessionCache.set(key, opening);
  // A model that failed to open is not remembered: the next load tries again.
  opening.catch(() => {
    if (sessionCache.get(key) === opening) sessionCache.delete(key);
  });
  return opening;
}

async function openSessions(
  directory: ClipModelDirectory,
  providers: readonly ExecutionProvider[],
  options: ClipModelOptions,
): Promise<SharedSessions> {
  const { config } = directory;
  const tokenizer = await loadTokenizer(directory);
  const worker = await ClipSessionWorker.start({
    imageEncoderPath: directory.imageEncoderPath,
    textEncoderPath: directory.textEncoderPath,
    executionProviders: providers,
    intraOpNumThreads: options.intraOpNumThreads,
    logLevel: options.ortLogLevel ?? 'error',
  });
  try {
    const size = config.preprocess.imageSize;
    checkSignature(config, 'image', worker.ready.image, 'float32', [3, size, size]);
    checkSignature(config, 'text', worker.ready.text, 'int64', [config.contextLength]);
    // One real run of each encoder: a graph that loads but cannot run, or whose embeddings have
    // another width than the config says, fails here rather than on the first slide.
    const shared = { worker, tokenizer, handles: 0, closed: false };
    // A ramp rather than zeros: an encoder without biases maps a black image to a zero vector.
    const ramp = Float32Array.from({ length: 3 * size * size }, (_, i) => (i % 97) / 97 - 0.5);
    await probe(config, shared, 'image', ramp, [1, 3, size, size]);
    const ids = BigInt64Array.from(tokenizer.tokenize(['']).ids, BigInt);
    await probe(config, shared, 'text', ids, [1, config.contextLength]);
    return shared;
  } catch (error) {
    await worker.dispose();
    throw error;
  }
}

function createHandle(
  directory: ClipModelDirectory,
  shared: SharedSessions,
  batchSize: number,
  release: () => Promise<void>,
): ClipModel {
  const { config } = directory;
  const size = config.preprocess.imageSize;
  const imageValues = 3 * size * size;
  let disposed = false;
  const usable = () => {
    if (disposed) throw new PathgenError('ModelUnavailable', `the CLIP model ${config.name} was disposed`);
  };
  return {
    config,
    dir: directory.dir,
    executionProvider: shared.worker.ready.provider,
    tokenizer: shared.tokenizer,
    async embedImages(pixels, count) {
      usable();
      if (!Number.isSafeInteger(count) || count < 0 || pixels.length !== count * imageValues) {
        throw new PathgenError(
          'InvalidInput',
          `expected ${count} images of 3×${size}×${size} floats (${count * imageValues}), got ${pixels.length}`,
          { count, length: pixels.length, imageSize: size },
        );
      }
      // Every batch is posted before any is awaited: the session thread works through them while
      // this thread is free.
      const batches = [];
      for (let start = 0; start < count; start += batchSize) {
        const rows = Math.min(batchSize, count - start);
        const slice = pixels.subarray(start * imageValues, (start + rows) * imageValues);
        batches.push(embed(config, shared, 'image', slice, [rows, 3, size, size], 'ModelOutputInvalid'));
      }
      return concatenate(await Promise.all(batches), count * config.embedDim);
    },
    async embedTexts(texts) {
      usable();
      const { ids } = shared.tokenizer.tokenize(texts, config.contextLength);
      const wide = BigInt64Array.from(ids, BigInt);
      const context = config.contextLength;
      const batches = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        const rows = Math.min(batchSize, texts.length - start);
        const slice = wide.subarray(start * context, (start + rows) * context);
        batches.push(embed(config, shared, 'text', slice, [rows, context], 'ModelOutputInvalid'));
      }
      return concatenate(await Promise.all(batches), texts.length * config.embedDim);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await release();
    },
  };
}

async function probe(
  config: ClipModelConfig,
  shared: SharedSessions,
  encoder: EncoderKind,
  data: Float32Array | BigInt64Array,
  dims: number[],
): Promise<void> {
  try {
    await embed(config, shared, encoder, data, dims, 'ModelInvalid');
  } catch (error) {
    if (error instanceof PathgenError && error.code === 'ModelRunFailed') {
      const file = encoder === 'image' ? config.imageEncoder.file : config.textEncoder.file;
      throw new PathgenError('ModelInvalid', `${file} does not run: ${error.message}`, { file }, { cause: error });
    }
    throw error;
  }
}

/** Runs one batch and returns its rows L2-normalised; a wrong shape or a degenerate row is `badOutput`. */
async function embed(
  config: ClipModelConfig,
  shared: SharedSessions,
  encoder: EncoderKind,
  data: Float32Array | BigInt64Array,
  dims: number[],
  badOutput: 'ModelInvalid' | 'ModelOutputInvalid',
): Promise<Float32Array> {
  const names = encoder === 'image' ? config.imageEncoder : config.textEncoder;
  const rows = dims[0] ?? 0;
  const result = await shared.worker.run(encoder, names.input, names.output, data, dims);
  if (result.dims.length !== 2 || result.dims[0] !== rows || result.dims[1] !== config.embedDim) {
    throw new PathgenError(
      badOutput,
      `${names.file} returned ${names.output} of shape [${result.dims.join(', ')}], expected [${rows}, ${config.embedDim}] (embedDim)`,
      { file: names.file, field: 'embedDim', dims: result.dims, embedDim: config.embedDim },
    );
  }
  normaliseRows(result.data, config.embedDim, names.file, badOutput);
  return result.data;
}

export function normaliseRows(
  values: Float32Array,
  width: number,
  file: string,
  badOutput: 'ModelInvalid' | 'ModelOutputInvalid' = 'ModelOutputInvalid',
): void {
  for (let offset = 0; offset < values.length; offset += width) {
    let sum = 0;
    for (let i = offset; i < offset + width; i++) sum += values[i]! * values[i]!;
    const norm = Math.sqrt(sum);
    if (!Number.isFinite(norm) || norm === 0) {
      throw new PathgenError(badOutput, `${file} returned an embedding of norm ${norm}`, {
        file,
        row: offset / width,
      });
    }
    for (let i = offset; i < offset + width; i++) values[i] = values[i]! / norm;
  }
}

function checkSignature(
  config: ClipModelConfig,
  encoder: EncoderKind,
  signature: EncoderSignature,
  inputType: string,
  inputTail: readonly number[],
): void {
  const names = encoder === 'image' ? config.imageEncoder : config.textEncoder;
  const invalid = (message: string, details: Record<string, unknown> = {}) =>
    new PathgenError('ModelInvalid', `${names.file}: ${message}`, { file: names.file, ...details });
  const input = signature.inputs.find((value) => value.name === names.input);
  if (!input) {
    throw invalid(`has no input ${names.input} (inputs: ${signature.inputs.map((v) => v.name).join(', ')})`, {
      field: `${encoder}Encoder.input`,
    });
  }
  const output = signature.outputs.find((value) => value.name === names.output);
  if (!output) {
    throw invalid(`has no output ${names.output} (outputs: ${signature.outputs.map((v) => v.name).join(', ')})`, {
      field: `${encoder}Encoder.output`,
    });
  }
  if (input.type !== inputType) throw invalid(`input ${names.input} is ${input.type}, expected ${inputType}`);
  // Fixed dimensions must agree with the config; symbolic ones (the batch) are checked by the probe run.
  const shape = input.shape ?? [];
  const expected = [undefined, ...inputTail];
  const clash =
    shape.length !== expected.length ||
    shape.some((dim, i) => typeof dim === 'number' && expected[i] !== undefined && dim !== expected[i]);
  if (clash) {
    throw invalid(
      `input ${names.input} has shape [${shape.join(', ')}], the config implies [N, ${inputTail.join(', ')}]`,
    );
  }
  const width = output.shape?.[1];
  if (typeof width === 'number' && width !== config.embedDim) {
    throw invalid(`output ${names.output} has width ${width}, config embedDim is ${config.embedDim}`, {
      field: 'embedDim',
    });
  }
}

async function loadTokenizer(directory: ClipModelDirectory): Promise<ClipTokenizer> {
  const options = { contextLength: directory.config.contextLength };
  try {
    return directory.tokenizerPath.endsWith('.json')
      ? await ClipTokenizer.fromHuggingFaceJson(directory.tokenizerPath, options)
      : await ClipTokenizer.fromBpeFile(directory.tokenizerPath, options);
  } catch (error) {
    throw new PathgenError(
      'ModelInvalid',
      `the tokenizer ${directory.config.tokenizer} of ${directory.dir} is unusable: ${(error as Error).message}`,
      { dir: directory.dir, file: directory.config.tokenizer },
      { cause: error },
    );
  }
}

function concatenate(parts: readonly Float32Array[], length: number): Float32Array {
  if (parts.length === 1 && parts[0]!.length === length) return parts[0]!;
  const all = new Float32Array(length);
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}
