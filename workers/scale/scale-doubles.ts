import { Context } from '@temporalio/activity';
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Agents, AgentUsage } from '../../activities/agents/index.js';
import { agentError, zeroUsage } from '../../activities/agents/index.js';
import { ResponseCache, responseCacheKey } from '../../activities/agents/response-cache.js';
import { PathgenError } from '../../activities/common/errors.js';
import { selectKeys, tileKeys } from '../../activities/contracts/keys.js';
import type { QueueRole } from '../../activities/contracts/task-queues.js';
import { withTypedFailures } from '../../activities/runtime/activity-failure.js';
import type { PatchRef } from '../../activities/stages/agents.js';
import { createActivities, type ActivityDeps } from '../../activities/stages/index.js';
import { selectionHash, type SelectPatchesInput, type SelectPatchesResult } from '../../activities/stages/select.js';
import { tilingHash, type TileSlideInput, type TileSlideResult } from '../../activities/stages/tile.js';
import { getIfExists } from '../../activities/store/object-store.js';
import { patchFails, scaleFailureReasons, scalePatchPosition, slideFails, type ScalePlan } from './scale-plan.js';

// Scale mode: the real activities of every queue, with only pixel and model work replaced. The
// tile and select doubles write what the real stages write (candidates, metadata, thumbnail,
// patch JPEGs, embeddings, selection, summary, the result object last) under the real keys and
// reuse a finished result the same way; the agents double stands behind the real agent activities
// (per-patch records, reuse, failure records) as a model server would, through the real response
// cache. Every double that does its work appends a line to a ledger, so the benchmark can count
// work done twice for one key after kills and restarts.

export interface ScaleDoubleOptions {
  plan: ScalePlan;
  /** Size of each patch JPEG (padding in comment segments); default: the tiny image alone. */
  imageBytes?: number;
  /** CPU spent per patch in the describe double, in ms. */
  workMs?: number;
  /** Folder of the ledgers (one file per process). */
  ledgerDir: string;
}

type QueueActivities = Record<QueueRole, Record<string, (...args: never[]) => Promise<unknown>>>;

const embeddingDim = 512;
const doubleModel = 'scale-double';

/** The activities a scale-mode worker registers: the real ones, the doubles under their names. */
export async function scaleActivities(deps: ActivityDeps, options: ScaleDoubleOptions): Promise<QueueActivities> {
  const ledger = new Ledger(path.join(options.ledgerDir, `ledger-${process.pid}.tsv`));
  const images = await patchImageMaker(options.imageBytes ?? 0);
  const realAgents = await deps.agents();
  const agents = agentsDouble(realAgents, deps, options, ledger);
  const activities = createActivities({ ...deps, agents: () => Promise.resolve(agents) });
  const doubles = { tile: tileDouble(deps, options, ledger), select: selectDouble(deps, options, ledger, images) };
  return {
    ...activities,
    cpu: { ...activities.cpu, tileSlide: (input: TileSlideInput) => withTypedFailures(() => doubles.tile(input)) },
    gpu: {
      ...activities.gpu,
      selectPatches: (input: SelectPatchesInput) => withTypedFailures(() => doubles.select(input)),
    },
  };
}

/** One line per piece of work a double did: `<kind>\t<key>`. Written at once (no buffer a kill could lose). */
class Ledger {
  private fd: number;
  constructor(file: string) {
    this.fd = openSync(file, 'a');
    process.once('exit', () => closeSync(this.fd));
  }
  did(kind: string, key: string): void {
    writeSync(this.fd, `${kind}\t${key}\n`);
  }
}

function tileDouble(deps: ActivityDeps, options: ScaleDoubleOptions, ledger: Ledger) {
  return async (input: TileSlideInput): Promise<TileSlideResult> => {
    const prefix = tileKeys.prefix(input.slideId, tilingHash(input));
    const keys = {
      candidates: tileKeys.candidates(prefix),
      metadata: tileKeys.metadata(prefix),
      thumbnail: tileKeys.thumbnail(prefix),
      result: tileKeys.result(prefix),
    };
    const done = await getIfExists(deps.store, keys.result);
    if (done) return { ...(JSON.parse(done.toString()) as TileSlideResult), reused: true };
    if (slideFails(options.plan, input.slideId)) {
      throw new PathgenError(scaleFailureReasons.slide, `slide ${input.slideId} is unreadable (scale plan)`, {
        slideId: input.slideId,
      });
    }
    // Twice as many candidates as the selection keeps, as on a real slide's tissue grid.
    const candidates = Array.from({ length: options.plan.patchesPerSlide * 2 }, (_, index) => {
      const { x, y } = scalePatchPosition(index);
      return { x, y, level: 0, width: 672, height: 672, tissue: 0.5 + (index % 50) / 100 };
    });
    await deps.store.put(keys.candidates, Buffer.from(candidates.map((c) => JSON.stringify(c)).join('\n') + '\n'));
    const metadata = { slideId: input.slideId, slide: input.slide, level: 0, candidates: candidates.length };
    await deps.store.put(keys.metadata, Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`));
    await deps.store.put(keys.thumbnail, await thumbnailPng);
    const result: TileSlideResult = {
      slideId: input.slideId,
      prefix,
      keys,
      candidates: candidates.length,
      tissueCells: candidates.length,
      tissueFraction: 0.4,
      level: 0,
      patchesWritten: 0,
      reused: false,
    };
    await deps.store.put(keys.result, Buffer.from(`${JSON.stringify(result, null, 2)}\n`));
    ledger.did('tile', input.slideId);
    return result;
  };
}

function selectDouble(
  deps: ActivityDeps,
  options: ScaleDoubleOptions,
  ledger: Ledger,
  images: (label: string) => Buffer,
) {
  return async (input: SelectPatchesInput): Promise<SelectPatchesResult> => {
    const context = Context.current();
    const prefix = selectKeys.prefix(input.slideId, selectionHash(input));
    const keys = {
      selection: selectKeys.selection(prefix),
      summary: selectKeys.summary(prefix),
      result: selectKeys.result(prefix),
      embeddings: selectKeys.embeddings(prefix),
    };
    const done = await getIfExists(deps.store, keys.result);
    if (done) return { ...(JSON.parse(done.toString()) as SelectPatchesResult), reused: true };
    const patches: PatchRef[] = [];
    for (let index = 0; index < options.plan.patchesPerSlide; index++) {
      context.cancellationSignal.throwIfAborted();
      const { id } = scalePatchPosition(index);
      const key = selectKeys.patch(prefix, id);
      // The comment makes every patch's bytes (and hash) its own and tells the agents double which patch it sees.
      await deps.store.put(key, images(`${input.slideId}/${id}`), { contentType: 'image/jpeg' });
      patches.push({ id, key, level: 0, size: 672, mpp: 0.5 });
      if (index % 32 === 0)
        context.heartbeat({ phase: 'writing', written: index, total: options.plan.patchesPerSlide });
    }
    await deps.store.put(keys.embeddings, Buffer.alloc(patches.length * embeddingDim * 4));
    const lines = patches.map((patch, rank) =>
      JSON.stringify({ id: patch.id, key: patch.key, rank, cluster: rank % 8 }),
    );
    await deps.store.put(keys.selection, Buffer.from(`${lines.join('\n')}\n`));
    const summary = { slideId: input.slideId, project: input.project, model: doubleModel, embeddingDim };
    await deps.store.put(keys.summary, Buffer.from(`${JSON.stringify(summary, null, 2)}\n`));
    const result: SelectPatchesResult = {
      slideId: input.slideId,
      prefix,
      mode: 'clip',
      model: doubleModel,
      candidates: options.plan.patchesPerSlide * 2,
      selected: patches.length,
      k: 8,
      counts: { clusters: 8, selected: patches.length },
      resumedBatches: 0,
      keys,
      patches,
      reused: false,
    };
    await deps.store.put(keys.result, Buffer.from(`${JSON.stringify(result)}\n`));
    ledger.did('select', input.slideId);
    return result;
  };
}

/**
 * A model server's answers behind the agents interface: each answer goes through the real
 * response cache (asked first, written the moment it exists), so a retried batch or a rerun never
 * asks the "model" again for an answer it gave; the ledger counts every answer actually made.
 */
function agentsDouble(real: Agents, deps: ActivityDeps, options: ScaleDoubleOptions, ledger: Ledger): Agents {
  const cache = new ResponseCache(deps.store);
  const settings = {
    ...real.settings,
    describe: { ...real.settings.describe, backend: 'openai' as const },
    revise: { ...real.settings.revise, backend: 'openai' as const },
    summarize: { ...real.settings.summarize, backend: 'openai' as const },
  } as Agents['settings'];
  const info = ({ cached }: { cached: boolean }, prompt: number, completion: number) => ({
    backend: 'openai' as const,
    model: doubleModel,
    promptVersion: 'scale-1',
    usage: {
      ...zeroUsage,
      calls: 1,
      attempts: cached ? 0 : 1,
      cacheHits: cached ? 1 : 0,
      promptTokens: prompt,
      completionTokens: completion,
    } satisfies AgentUsage,
  });
  const answer = async (
    agent: 'describe' | 'revise' | 'summarize',
    label: string,
    imageSha256: string | undefined,
    make: () => string,
  ) => {
    const key = responseCacheKey({
      agent,
      backend: 'openai',
      model: doubleModel,
      promptVersion: 'scale-1',
      imageSha256,
      input: '',
    });
    const cached = await cache.get(key);
    if (cached) return { content: cached.content, cached: true };
    if (agent === 'describe' && options.workMs) spin(options.workMs);
    const content = make();
    const settled = await cache.settle(key, {
      content,
      finishReason: 'stop',
      promptTokens: 900,
      completionTokens: 120,
    });
    ledger.did(`model-${agent}`, label);
    return { content: settled.content, cached: false };
  };
  return {
    settings,
    findings: (report, callOptions) => real.findings(report, callOptions),
    async describe(patch) {
      const image = patch.image as Buffer;
      const label = patchLabel(image);
      const [slideId = '', patchId = ''] = label.split('/');
      if (patchFails(options.plan, slideId, patchId)) {
        throw agentError('ModelOutputInvalid', 'describe', `the answer for ${label} is not a description (scale plan)`);
      }
      const made = await answer('describe', label, patch.imageSha256, () => describeText(label));
      return { description: made.content, ...info(made, 900, 120) };
    },
    async revise(patch, description) {
      const made = await answer(
        'revise',
        patchLabel(patch.image as Buffer),
        patch.imageSha256,
        () => `${description} Revised.`,
      );
      return {
        revised: made.content,
        edits: { added: ['Revised.'], deleted: [], modified: [] },
        ...info(made, 1000, 130),
      };
    },
    async summarize(patch, revised) {
      const made = await answer('summarize', patch.imageSha256, patch.imageSha256, () => captionOf(revised));
      return { caption: made.content, tokens: 40, shortened: 'none', ...info(made, 200, 45) };
    },
  };
}

function describeText(label: string): string {
  return (
    `This patch (${label}) shows sheets of atypical epithelial cells with enlarged, pleomorphic nuclei and ` +
    'prominent nucleoli, arranged in solid nests within a desmoplastic stroma. Mitotic figures are present. ' +
    'Scattered lymphocytes infiltrate the stroma at the periphery. There is no necrosis in this field.'
  );
}

function captionOf(revised: string): string {
  return `${revised.split('. ')[0] ?? revised}.`.slice(0, 200);
}

/** The patch label the select double wrote into the JPEG's first comment segment. */
function patchLabel(jpeg: Buffer): string {
  if (jpeg.length < 6 || jpeg[2] !== 0xff || jpeg[3] !== 0xfe) return '';
  const length = jpeg.readUInt16BE(4);
  const text = jpeg.subarray(6, 4 + length).toString('utf8');
  return text.split('\0')[0] ?? '';
}

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Burn CPU as a pixel stage would.
  }
}

const thumbnailPng = sharp({ create: { width: 64, height: 48, channels: 3, background: '#e8d0e0' } })
  .png()
  .toBuffer();

/**
 * Patch JPEGs: one tiny image, with the label and any padding in comment segments right after
 * the start marker, so each patch's bytes are its own and `imageBytes` sets their size.
 */
async function patchImageMaker(imageBytes: number): Promise<(label: string) => Buffer> {
  const base = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#c080a0' } })
    .jpeg({ quality: 80 })
    .toBuffer();
  const segment = (body: Buffer) => {
    const header = Buffer.from([0xff, 0xfe, 0, 0]);
    header.writeUInt16BE(body.length + 2, 2);
    return Buffer.concat([header, body]);
  };
  return (label: string) => {
    const parts = [base.subarray(0, 2), segment(Buffer.from(label))];
    let missing = imageBytes - base.length - label.length - 4;
    while (missing > 4) {
      const size = Math.min(missing - 4, 65_000);
      parts.push(segment(Buffer.alloc(size, 0x20)));
      missing -= size + 4;
    }
    parts.push(base.subarray(2));
    return Buffer.concat(parts);
  };
}
