import { PathgenError } from '../common/errors.js';

// Embedding a slide's candidates is two alternating kinds of work: preparing a batch (reading and
// resizing patches, on this thread) and running the encoder (on the session thread or the GPU).
// Batch i+1 is gathered and prepared while batch i runs, so the encoder waits as little as possible.

/**
 * `Prepared` is what the encoder takes (NCHW float32 pixels by default) and `Result` what it gives
 * (the batch's embedding rows by default); callers that carry more per batch choose their own.
 */
export interface EmbeddingPipelineOptions<T, Prepared = Float32Array, Result = Float32Array> {
  batchSize: number;
  /** Turns a batch of items into the encoder's input. */
  prepare: (batch: T[]) => Promise<Prepared> | Prepared;
  /** Runs the encoder on `count` prepared items; should not hold this thread while it works. */
  run: (prepared: Prepared, count: number) => Promise<Result>;
  /** Receives each batch's result in order; the next batch's result waits for it to finish. */
  onBatch?: (index: number, result: Result, items: readonly T[]) => Promise<void> | void;
  /** Checked between batches; an abort rejects with the signal's reason once in-flight work settles. */
  signal?: AbortSignal;
}

/** When each step of a batch began and ended, in `performance.now()` milliseconds. */
export interface BatchTiming {
  index: number;
  count: number;
  /** Gathering the batch's items from the source, then `prepare`. */
  prepareStart: number;
  prepareEnd: number;
  runStart: number;
  runEnd: number;
  prepareMs: number;
  runMs: number;
}

export interface EmbeddingPipelineReport {
  items: number;
  batches: BatchTiming[];
  totalMs: number;
  /** Sum of `runMs`. */
  runMs: number;
  /** Share of the wall time in which no run was in flight: what overlap failed to hide. */
  outsideRunShare: number;
}

export async function embedInBatches<T, Prepared = Float32Array, Result = Float32Array>(
  items: AsyncIterable<T> | Iterable<T>,
  options: EmbeddingPipelineOptions<T, Prepared, Result>,
): Promise<EmbeddingPipelineReport> {
  const { batchSize, signal } = options;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new PathgenError('InvalidInput', `batchSize must be a positive integer, got ${batchSize}`, { batchSize });
  }
  const started = performance.now();
  const source = iterate(items);
  const timings: BatchTiming[] = [];
  let total = 0;

  signal?.throwIfAborted();
  let next = prepareNext(source, batchSize, options.prepare);
  try {
    for (let index = 0; ; index++) {
      const prepared = await next;
      if (!prepared) break;
      signal?.throwIfAborted();
      const runStart = performance.now();
      const running = options.run(prepared.input, prepared.batch.length);
      // Let the run's first step (posting to its thread) happen before a synchronous prepare takes this one.
      await new Promise((resolve) => setImmediate(resolve));
      next = prepareNext(source, batchSize, options.prepare);
      // Observed now, so a failure while the run is awaited is not an unhandled rejection; awaited below.
      next.catch(() => undefined);
      const result = await running;
      const runEnd = performance.now();
      timings.push({
        index,
        count: prepared.batch.length,
        prepareStart: prepared.start,
        prepareEnd: prepared.end,
        runStart,
        runEnd,
        prepareMs: prepared.end - prepared.start,
        runMs: runEnd - runStart,
      });
      total += prepared.batch.length;
      await options.onBatch?.(index, result, prepared.batch);
      signal?.throwIfAborted();
    }
  } catch (error) {
    // Nothing keeps working behind the caller's back: the batch being prepared settles first.
    await next.catch(() => undefined);
    await source.return?.();
    throw error;
  }
  const totalMs = performance.now() - started;
  return {
    items: total,
    batches: timings,
    totalMs,
    runMs: sum(timings),
    outsideRunShare: outsideShare(timings, totalMs),
  };
}

interface PreparedBatch<T, Prepared> {
  batch: T[];
  input: Prepared;
  start: number;
  end: number;
}

async function prepareNext<T, Prepared>(
  source: AsyncIterator<T>,
  batchSize: number,
  prepare: (batch: T[]) => Promise<Prepared> | Prepared,
): Promise<PreparedBatch<T, Prepared> | undefined> {
  const start = performance.now();
  const batch: T[] = [];
  while (batch.length < batchSize) {
    const step = await source.next();
    if (step.done) break;
    batch.push(step.value);
  }
  if (batch.length === 0) return undefined;
  const input = await prepare(batch);
  return { batch, input, start, end: performance.now() };
}

function iterate<T>(items: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in items) return items[Symbol.asyncIterator]();
  const iterator = items[Symbol.iterator]();
  return {
    next: () => Promise.resolve(iterator.next()),
    return: () => Promise.resolve(iterator.return?.() ?? { done: true, value: undefined }),
  };
}

function sum(timings: readonly BatchTiming[]): number {
  return timings.reduce((total, timing) => total + timing.runMs, 0);
}

/** Wall time not covered by any run interval (runs never overlap one another here). */
function outsideShare(timings: readonly BatchTiming[], totalMs: number): number {
  if (totalMs <= 0) return 0;
  return Math.max(0, totalMs - sum(timings)) / totalMs;
}
