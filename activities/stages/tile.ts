import type { TilingOptions } from '../contracts/run-settings.js';
import { tileKeys } from '../contracts/keys.js';
import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { withTypedFailures } from '../runtime/activity-failure.js';
import { PathgenError } from '../common/errors.js';
import { whileHeartbeating } from '../runtime/heartbeat.js';
import { localSlidePath, workerSlideOptions } from '../staging/local-slide.js';
import type { ObjectStore } from '../store/object-store.js';
import { candidatesJsonl, planRecord, planSlide } from '../wsi/tissue-patch-plan.js';
import type { PlanOptions } from '../wsi/tissue-patch-plan.js';
import { openSlide } from '../wsi/open-slide.js';
import type { PatchCandidate } from '../wsi/patch-grid.js';
import { writePatches } from '../wsi/patch-reading.js';
import { renderOverlay } from '../wsi/tile-overlay.js';

export interface TileSlideInput {
  slideId: string;
  /** A path, file:// URI, s3:// URI of the configured store, or a store key. */
  slide: string;
  tiling: TilingOptions;
  /** Where results go; default `tiles/<slideId>/<hash of slide and tiling>`. */
  outputPrefix?: string;
}

export interface TileSlideResult {
  slideId: string;
  prefix: string;
  keys: { candidates: string; metadata: string; thumbnail: string; result: string; patches?: string };
  candidates: number;
  tissueCells: number;
  tissueFraction: number;
  level: number;
  patchesWritten: number;
  /** True when a complete earlier result was returned without tiling again. */
  reused: boolean;
}

/** Where the activity is, as heartbeat details: what a retry resumes from and what people see in the UI. */
export type TileHeartbeat =
  | { phase: 'staging'; bytes: number; total: number }
  | { phase: 'opening' }
  | { phase: 'planning' }
  | { phase: 'patches'; next: number; total: number };

export interface TileDeps {
  store: ObjectStore;
  slideCacheDir: string;
  slideCacheMaxBytes: number;
}

export function createTileActivities(deps: TileDeps) {
  return {
    /** Tile one slide: tissue mask, candidate grid, overlay thumbnail (and optionally every patch) to the store. */
    async tileSlide(input: TileSlideInput): Promise<TileSlideResult> {
      return withTypedFailures(() => tileSlide(deps, input));
    },
  };
}

export type TileActivities = ReturnType<typeof createTileActivities>;

async function tileSlide(deps: TileDeps, input: TileSlideInput): Promise<TileSlideResult> {
  validate(input);
  const context = Context.current();
  const signal = context.cancellationSignal;
  const prefix = input.outputPrefix ?? tileKeys.prefix(input.slideId, tilingHash(input));
  const keys = {
    candidates: tileKeys.candidates(prefix),
    metadata: tileKeys.metadata(prefix),
    thumbnail: tileKeys.thumbnail(prefix),
    result: tileKeys.result(prefix),
    ...(input.tiling.writePatches ? { patches: `${tileKeys.patches(prefix)}/` } : {}),
  };

  // The result object is written last: when it exists, everything it lists exists.
  const done = await deps.store.head(keys.result);
  if (done) return { ...(JSON.parse((await deps.store.get(keys.result)).toString()) as TileSlideResult), reused: true };

  const localPath = await localSlidePath(deps, input.slide, signal, (bytes, total) =>
    context.heartbeat({ phase: 'staging', bytes, total } satisfies TileHeartbeat),
  );

  // Opening may convert the slide with vips first (formats sharp cannot decode): minutes, once.
  const reader = await whileHeartbeating(
    () => ({ phase: 'opening' }) satisfies TileHeartbeat,
    () => openSlide(localPath, workerSlideOptions(deps, signal)),
  );
  try {
    const planOptions = toPlanOptions(input.tiling);
    // Planning reads the whole thumbnail level: keep telling Temporal this worker is alive.
    const plan = await whileHeartbeating(
      () => ({ phase: 'planning' }) satisfies TileHeartbeat,
      () => planSlide(reader, planOptions),
    );
    const candidates = plan.grid.candidates;
    await deps.store.put(keys.candidates, Buffer.from(candidatesJsonl(plan.grid)), {
      contentType: 'application/x-ndjson',
    });
    const record = { slideId: input.slideId, slide: input.slide, ...planRecord(plan, planOptions) };
    await deps.store.put(keys.metadata, Buffer.from(`${JSON.stringify(record, null, 2)}\n`), {
      contentType: 'application/json',
    });
    await deps.store.put(keys.thumbnail, await renderOverlay(plan.thumbnail, plan.mask, plan.grid), {
      contentType: 'image/png',
    });

    let patchesWritten = 0;
    if (input.tiling.writePatches) {
      patchesWritten = await writePatchesResumably(deps.store, reader, candidates, prefix, signal);
    }

    const result: TileSlideResult = {
      slideId: input.slideId,
      prefix,
      keys,
      candidates: candidates.length,
      tissueCells: plan.grid.tissueCells,
      tissueFraction: plan.mask.tissueFraction,
      level: plan.grid.level,
      patchesWritten,
      reused: false,
    };
    await deps.store.put(keys.result, Buffer.from(`${JSON.stringify(result, null, 2)}\n`), {
      contentType: 'application/json',
    });
    return result;
  } finally {
    await reader.close();
  }
}

/** Continues from the patch index an earlier attempt heartbeated; patch keys are deterministic. */
async function writePatchesResumably(
  store: ObjectStore,
  reader: Awaited<ReturnType<typeof openSlide>>,
  candidates: readonly PatchCandidate[],
  tilePrefix: string,
  signal: AbortSignal,
): Promise<number> {
  const context = Context.current();
  const last = context.info.heartbeatDetails as TileHeartbeat | undefined;
  const startIndex = last?.phase === 'patches' && last.total === candidates.length ? last.next : 0;
  await writePatches(reader, candidates, {
    startIndex,
    signal,
    write: async ({ candidate, png }) => {
      await store.put(tileKeys.patch(tilePrefix, `${candidate.x}_${candidate.y}`), png, { contentType: 'image/png' });
    },
    onProgress: (next, total) => context.heartbeat({ phase: 'patches', next, total } satisfies TileHeartbeat),
  });
  return candidates.length;
}

function toPlanOptions(tiling: TilingOptions): PlanOptions {
  return {
    patchSize: tiling.patchSize,
    level: tiling.level,
    ...(tiling.targetMpp !== undefined ? { targetMpp: tiling.targetMpp } : {}),
    ...(tiling.mppOverride !== undefined ? { mppOverride: tiling.mppOverride } : {}),
    minTissueFraction: tiling.minTissueFraction,
    maskDownsample: tiling.thumbnailDownsample,
    ...(tiling.maxCandidates !== undefined ? { maxCandidates: tiling.maxCandidates } : {}),
    seed: tiling.seed,
  };
}

/** Same slide reference and tiling options → same keys, so a retry or a rerun finds the earlier result. */
export function tilingHash(input: TileSlideInput): string {
  const t = input.tiling;
  const identity = [
    input.slide,
    t.patchSize,
    t.level,
    t.targetMpp ?? '',
    t.mppOverride ?? '',
    t.minTissueFraction,
    t.thumbnailDownsample,
    t.maxCandidates ?? '',
    t.seed,
    t.writePatches,
  ];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

const safeId = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

function validate(input: TileSlideInput): void {
  if (!safeId.test(input.slideId)) {
    throw new PathgenError(
      'InvalidInput',
      `slideId ${JSON.stringify(input.slideId)} must be 1-200 letters, digits, '.', '_' or '-'`,
      {
        slideId: input.slideId,
      },
    );
  }
}
