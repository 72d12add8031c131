import { PathgenError } from '../common/errors.js';
import { assertValidKey } from '../store/store-errors.js';
import { versionPattern } from './export-pointer.js';
import { assertSampleKey, compareKeys } from './sample-key.js';

// What exportDataset checks of its input (one sample at a time, so a stream of millions is
// checked without being held), and the bounded image uploads beside the main stream.

/** The fields of a sample the checks read: an ExportSample without its image. */
export interface CheckedSample {
  /** Unique; see `sampleKey` (letters, digits, '_' and '-': WebDataset splits names at dots). */
  key: string;
  slideId: string;
  project?: string;
  /** Level-0 top-left corner of the patch. */
  x: number;
  y: number;
  level: number;
  mpp?: number;
  caption: string;
  /**
   * Written as `<key>.json` after the fields above. `wsiId` and `fileId` (strings) fill the
   * PathGen JSON's `wsi_id` (default: the slide id) and `file_id` (default: '').
   */
  metadata: Readonly<Record<string, unknown>>;
}

/** Arrays are sorted here; streams must arrive sorted. Either way a repeated key is refused. */
export async function* inKeyOrder<S extends { key: string }>(
  samples: readonly S[] | AsyncIterable<S>,
): AsyncGenerator<S> {
  const source = Array.isArray(samples)
    ? [...(samples as readonly S[])].sort((a, b) => compareKeys(a.key, b.key))
    : samples;
  let previous: string | undefined;
  for await (const sample of source as Iterable<S> | AsyncIterable<S>) {
    if (previous !== undefined) {
      const order = compareKeys(previous, sample.key);
      if (order === 0) {
        throw new PathgenError('InvalidInput', `two samples have the key ${sample.key}`, { key: sample.key });
      }
      if (order > 0) {
        throw new PathgenError('InvalidInput', `samples must come in key order: ${sample.key} after ${previous}`, {
          key: sample.key,
          previous,
        });
      }
    }
    previous = sample.key;
    yield sample;
  }
}

const reservedMetadataKeys = ['key', 'slideId', 'project', 'x', 'y', 'level', 'mpp'] as const;

/** The sample's `<key>.json`: its own fields, then its metadata (which may not contradict them). */
export function sampleMetadata(sample: CheckedSample): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    key: sample.key,
    slideId: sample.slideId,
    project: sample.project,
    x: sample.x,
    y: sample.y,
    level: sample.level,
    mpp: sample.mpp,
  };
  for (const name of reservedMetadataKeys) {
    if (name in sample.metadata && sample.metadata[name] !== fields[name]) {
      throw new PathgenError('InvalidInput', `metadata of ${sample.key} sets ${name} differently from the sample`, {
        key: sample.key,
        field: name,
      });
    }
  }
  return { ...fields, ...sample.metadata };
}

export function checkSample(sample: CheckedSample): void {
  assertSampleKey(sample.key);
  if (sample.caption.trim() === '') {
    throw new PathgenError('InvalidInput', `sample ${sample.key} has an empty caption`, { key: sample.key });
  }
  for (const [name, value] of [
    ['x', sample.x],
    ['y', sample.y],
    ['level', sample.level],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new PathgenError('InvalidInput', `sample ${sample.key}: ${name} must be a non-negative integer`, {
        key: sample.key,
        [name]: value,
      });
    }
  }
}

export function checkOptions(options: { exportPrefix: string; version: string; samplesPerShard?: number }): void {
  assertValidKey(`${options.exportPrefix}/LATEST.json`);
  if (!versionPattern.test(options.version)) {
    throw new PathgenError('InvalidInput', `export version ${JSON.stringify(options.version)} is not a valid name`, {
      version: options.version,
    });
  }
  const perShard = options.samplesPerShard ?? 1000;
  if (!Number.isSafeInteger(perShard) || perShard < 1) {
    throw new PathgenError('InvalidInput', `samplesPerShard must be a positive integer, got ${perShard}`);
  }
}

/** Image uploads run beside the main stream, a few at a time; the first failure stops the export. */
export class BoundedUploads {
  private readonly running = new Set<Promise<unknown>>();
  private failure: Error | undefined;

  constructor(private readonly limit: number) {}

  async start(upload: () => Promise<unknown>): Promise<void> {
    this.throwIfFailed();
    const promise = upload()
      .catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      })
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
    if (this.running.size >= this.limit) await Promise.race(this.running);
    this.throwIfFailed();
  }

  /** Waits for every upload started; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.throwIfFailed();
  }

  /** Waits for every upload started, failed or not (after an export failed). */
  async settle(): Promise<void> {
    await Promise.all(this.running);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
