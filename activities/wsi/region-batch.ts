import { performance } from 'node:perf_hooks';
import { slideUnreadable } from './slide-errors.js';
import type { RgbImage, SlideReader } from './slide-reader.js';

// Many regions of one slide read as fast as the reader allows: `inFlight` reads at once (enough to
// keep every decode thread busy), each handed to `onRegion` as it lands. What `pathgen read` and
// bench:tile measure.

export interface RegionOrigin {
  x: number;
  y: number;
}

/** `{"x": …, "y": …}` per line; a bad line fails with its number, nothing is read. */
export function parseRegionOrigins(text: string, source: string): RegionOrigin[] {
  const origins: RegionOrigin[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new RangeError(`${source} line ${i + 1} is not JSON: ${line.slice(0, 80)}`);
    }
    const { x, y } = (value ?? {}) as Partial<RegionOrigin>;
    if (!Number.isSafeInteger(x) || !Number.isSafeInteger(y))
      throw new RangeError(`${source} line ${i + 1} needs integer "x" and "y": ${line.slice(0, 80)}`);
    origins.push({ x: x!, y: y! });
  });
  return origins;
}

export interface RegionBatchOptions {
  size: number;
  level: number;
  inFlight: number;
  onRegion?: (origin: RegionOrigin, image: RgbImage) => Promise<void>;
}

export interface RegionBatchFigures {
  regions: number;
  seconds: number;
  regionsPerSecond: number;
  megapixelsPerSecond: number;
}

export async function readRegionBatch(
  reader: SlideReader,
  origins: readonly RegionOrigin[],
  options: RegionBatchOptions,
): Promise<RegionBatchFigures> {
  const { size, level } = options;
  if (!reader.levels[level]) throw slideUnreadable(reader.path, `the slide has no level ${level}`);
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < origins.length) {
      const origin = origins[next++]!;
      const region = await reader.read(level, origin.x, origin.y, size, size);
      await options.onRegion?.(origin, region);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.inFlight) }, lane));
  const seconds = (performance.now() - started) / 1000;
  return {
    regions: origins.length,
    seconds,
    regionsPerSecond: origins.length / seconds,
    megapixelsPerSecond: (origins.length * size * size) / 1e6 / seconds,
  };
}
