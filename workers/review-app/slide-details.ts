import { agentKeys, runKeys, selectKeys, tileKeys } from '../../activities/contracts/keys.js';
import type { SampleRef, SlideRecord } from '../../activities/contracts/slide-record.js';
import { getIfExists } from '../../activities/store/object-store.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { parseSlideRecord } from './slide-summaries.js';

// One slide's stored pieces, found through its record and keys.ts only. A record names where its
// stages wrote; the app serves a key only if it lies under that slide's own stage folders or the
// run's folder, so a record can never point the app at another run's (or any other) objects.

export interface GridCell {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface SelectedPatch extends GridCell {
  id: string;
  priority?: number;
  routes: string[];
  cluster?: number;
  scores: Record<string, number | null>;
}

export interface TileGeometry {
  /** Level-0 width and height of the slide. */
  width: number;
  height: number;
  /** The thumbnail's pixels per level-0 pixel is 1 / scale. */
  scaleX: number;
  scaleY: number;
  thumbnailWidth: number;
  thumbnailHeight: number;
  tissueFraction?: number;
}

export interface SlideDetails {
  record: SlideRecord;
  thumbnailKey?: string;
  geometry?: TileGeometry;
  candidates: GridCell[];
  selected: SelectedPatch[];
}

export async function readSlideRecord(
  store: ObjectStore,
  runId: string,
  slideId: string,
): Promise<SlideRecord | undefined> {
  const key = runKeys.slideRecord(runId, slideId);
  const bytes = await getIfExists(store, key);
  return bytes ? parseSlideRecord(key, bytes) : undefined;
}

// The folders a slide's pieces may live in, from keys.ts: its tilings, its selections, its run.
const tileRoot = (record: SlideRecord): string => `${tileKeys.prefix(record.slideId, '')}`;
const selectRoot = (record: SlideRecord): string => `${selectKeys.prefix(record.slideId, '')}`;
const runRoot = (record: SlideRecord): string => {
  const records = runKeys.slideRecords(record.runId);
  return records.slice(0, records.length - 'slides/'.length);
};

/** The record's stage prefix, if it is where that stage writes for this slide. */
export function stagePrefix(record: SlideRecord, stage: 'tile' | 'select' | 'agents'): string | undefined {
  const prefix = record.prefixes[stage];
  if (!prefix) return undefined;
  const root = { tile: tileRoot(record), select: selectRoot(record), agents: runRoot(record) }[stage];
  return prefix.startsWith(root) && !prefix.includes('..') ? prefix : undefined;
}

/** A key a sample names, if it belongs to this slide's selection or to the run. */
export function ownKey(record: SlideRecord, key: string | undefined): string | undefined {
  if (!key || key.includes('..')) return undefined;
  const own = [selectRoot(record), runRoot(record)];
  return own.some((root) => key.startsWith(root)) ? key : undefined;
}

export function sampleOf(record: SlideRecord, patchId: string): SampleRef | undefined {
  return record.samples.find((sample) => sample.id === patchId);
}

function jsonLines(bytes: Buffer | undefined): Record<string, unknown>[] {
  if (!bytes) return [];
  return bytes
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

function cellOf(row: Record<string, unknown>): GridCell | undefined {
  const [x, y, width, height] = [num(row.x), num(row.y), num(row.width), num(row.height)];
  return x === undefined || y === undefined || width === undefined || height === undefined
    ? undefined
    : { x, y, width, height };
}

function geometryOf(metadata: Record<string, unknown>): TileGeometry | undefined {
  const slide = metadata.slide as { levels?: { width?: number; height?: number }[] } | undefined;
  const tissue = metadata.tissue as Record<string, unknown> | undefined;
  const level0 = slide?.levels?.[0];
  const [scaleX, scaleY] = [num(tissue?.scaleX), num(tissue?.scaleY)];
  const [maskWidth, maskHeight] = [num(tissue?.maskWidth), num(tissue?.maskHeight)];
  if (!level0?.width || !level0.height || !scaleX || !scaleY || !maskWidth || !maskHeight) return undefined;
  return {
    width: level0.width,
    height: level0.height,
    scaleX,
    scaleY,
    thumbnailWidth: maskWidth,
    thumbnailHeight: maskHeight,
    tissueFraction: num(tissue?.tissueFraction),
  };
}

export async function readSlideDetails(store: ObjectStore, record: SlideRecord): Promise<SlideDetails> {
  const tile = stagePrefix(record, 'tile');
  const select = stagePrefix(record, 'select');
  const [metadata, candidates, selection] = await Promise.all([
    tile ? getIfExists(store, tileKeys.metadata(tile)) : undefined,
    tile ? getIfExists(store, tileKeys.candidates(tile)) : undefined,
    select ? getIfExists(store, selectKeys.selection(select)) : undefined,
  ]);
  const selected = jsonLines(selection).flatMap((row): SelectedPatch[] => {
    const cell = cellOf(row);
    if (!cell) return [];
    return [
      {
        ...cell,
        id: `${cell.x}_${cell.y}`,
        priority: num(row.priority),
        routes: Array.isArray(row.routes) ? row.routes.map(String) : [],
        cluster: num(row.cluster),
        scores: (row.scores ?? {}) as Record<string, number | null>,
      },
    ];
  });
  return {
    record,
    thumbnailKey: tile && metadata ? tileKeys.thumbnail(tile) : undefined,
    geometry: metadata ? geometryOf(JSON.parse(metadata.toString('utf8')) as Record<string, unknown>) : undefined,
    candidates: jsonLines(candidates).flatMap((row) => cellOf(row) ?? []),
    selected,
  };
}

export interface PatchTexts {
  describe?: Record<string, unknown>;
  revise?: Record<string, unknown>;
  summarize?: Record<string, unknown>;
  /** The sample's caption record when it is not the agents' summarize record (materialize mode). */
  caption?: Record<string, unknown>;
}

async function readJson(store: ObjectStore, key: string | undefined): Promise<Record<string, unknown> | undefined> {
  const bytes = key ? await getIfExists(store, key) : undefined;
  return bytes ? (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>) : undefined;
}

export async function readPatchTexts(store: ObjectStore, record: SlideRecord, sample: SampleRef): Promise<PatchTexts> {
  const agents = stagePrefix(record, 'agents');
  const stageKey = (stage: string) => (agents ? agentKeys.stage(agents, stage, sample.id) : undefined);
  const recordKey = ownKey(record, sample.recordKey);
  const [describe, revise, summarize] = await Promise.all(
    ['describe', 'revise', 'summarize'].map((stage) => readJson(store, stageKey(stage))),
  );
  const caption = recordKey && recordKey !== stageKey('summarize') ? await readJson(store, recordKey) : undefined;
  return { describe, revise, summarize, caption };
}
