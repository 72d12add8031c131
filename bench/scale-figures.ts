import type { Client } from '@temporalio/client';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { exportKeys, workflowIds } from '../activities/contracts/keys.js';
import { readExportPointer } from '../activities/export/export-pointer.js';
import { listAll, type ObjectStore } from '../activities/store/object-store.js';

// What the scale benchmark reads back after the run: every history (events per slide and per run
// execution, the largest payload, activity completions), the exported shards (the sample keys they
// hold, against the expected set), the doubles' ledgers (work done twice for one key) and the store.

export interface HistoryFigures {
  slideWorkflows: number;
  eventsPerSlide: { min: number; mean: number; max: number };
  runExecutions: number;
  runEventsMax: number;
  maxPayloadBytes: number;
  activitiesCompleted: number;
  /** The export activity's first schedule to its completion, in ms since the epoch. */
  exportWindow?: { fromMs: number; toMs: number };
}

type HistoryEvent = { eventType?: unknown; eventTime?: unknown } & Record<string, unknown>;

export async function historyFigures(client: Client, runId: string): Promise<HistoryFigures> {
  const runWorkflowId = workflowIds.run(runId);
  let maxPayloadBytes = 0;
  let activitiesCompleted = 0;
  let exportWindow: HistoryFigures['exportWindow'];
  const scan = (events: HistoryEvent[]) => {
    const scheduledExport = new Set<string>();
    for (const event of events) {
      maxPayloadBytes = Math.max(maxPayloadBytes, largestPayload(event));
      const type = String(event.eventType);
      if (type === 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED' || type === '12') activitiesCompleted += 1;
      const scheduled = event.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined;
      if (scheduled?.activityType?.name === 'exportRun') {
        scheduledExport.add(String(event.eventId));
        const at = eventMs(event);
        exportWindow = { fromMs: Math.min(exportWindow?.fromMs ?? at, at), toMs: exportWindow?.toMs ?? at };
      }
      const completed = event.activityTaskCompletedEventAttributes as { scheduledEventId?: unknown } | undefined;
      if (completed && scheduledExport.has(String(completed.scheduledEventId)) && exportWindow) {
        exportWindow.toMs = eventMs(event);
      }
    }
  };

  let runExecutions = 0;
  let runEventsMax = 0;
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${runWorkflowId}'` })) {
    runExecutions += 1;
    const events = ((await client.workflow.getHandle(runWorkflowId, execution.runId).fetchHistory()).events ??
      []) as HistoryEvent[];
    runEventsMax = Math.max(runEventsMax, events.length);
    scan(events);
  }

  const perSlide: number[] = [];
  const query = `PathgenRunId = '${runId}' AND WorkflowType = 'pathgenSlide'`;
  for await (const execution of client.workflow.list({ query })) {
    const events = ((await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory()).events ??
      []) as HistoryEvent[];
    perSlide.push(events.length);
    scan(events);
  }
  const sum = perSlide.reduce((a, b) => a + b, 0);
  return {
    slideWorkflows: perSlide.length,
    eventsPerSlide: {
      min: perSlide.length ? Math.min(...perSlide) : 0,
      mean: perSlide.length ? Math.round((sum / perSlide.length) * 10) / 10 : 0,
      max: perSlide.length ? Math.max(...perSlide) : 0,
    },
    runExecutions,
    runEventsMax,
    maxPayloadBytes,
    activitiesCompleted,
    ...(exportWindow ? { exportWindow } : {}),
  };
}

function eventMs(event: HistoryEvent): number {
  const time = event.eventTime as { seconds?: { toNumber?: () => number } | number; nanos?: number } | undefined;
  const seconds = typeof time?.seconds === 'number' ? time.seconds : (time?.seconds?.toNumber?.() ?? 0);
  return seconds * 1000 + Math.floor((time?.nanos ?? 0) / 1e6);
}

/** The largest payload's data anywhere in an event (inputs, results, heartbeat details, memo). */
function largestPayload(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  if (value instanceof Uint8Array) return 0;
  const record = value as Record<string, unknown>;
  let largest = record.data instanceof Uint8Array && 'metadata' in record ? record.data.length : 0;
  for (const child of Object.values(record)) largest = Math.max(largest, largestPayload(child));
  return largest;
}

export interface ShardFigures {
  version: string;
  /** The version folder, on disk for an fs store. */
  folder: string;
  shards: number;
  samples: number;
  missing: number;
  duplicates: number;
  unexpected: number;
}

/** Reads every shard of the published export and compares its sample keys with the expected set. */
export async function shardFigures(
  store: ObjectStore,
  runId: string,
  expected: Iterable<string>,
): Promise<ShardFigures> {
  const pointer = await readExportPointer(store, exportKeys.prefix(runId));
  if (!pointer) throw new Error(`run ${runId} has no published export`);
  const seen = new Map<string, number>();
  let shards = 0;
  for await (const object of listAll(store, `${pointer.prefix}shards/`)) {
    if (!object.key.endsWith('.tar')) continue;
    shards += 1;
    for (const name of tarMemberNames(await store.get(object.key))) {
      if (!name.endsWith('.txt')) continue;
      const key = name.slice(0, -'.txt'.length);
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  let missing = 0;
  const expectedSet = new Set<string>();
  for (const key of expected) {
    expectedSet.add(key);
    if (!seen.has(key)) missing += 1;
  }
  let duplicates = 0;
  let unexpected = 0;
  let samples = 0;
  for (const [key, count] of seen) {
    samples += count;
    duplicates += count - 1;
    if (!expectedSet.has(key)) unexpected += 1;
  }
  return {
    version: pointer.version,
    folder: store.localFile?.(pointer.prefix.replace(/\/$/, '')) ?? `${store.description}/${pointer.prefix}`,
    shards,
    samples,
    missing,
    duplicates,
    unexpected,
  };
}

/** Member names of a ustar archive (our shards: short names, no pax headers needed for them). */
export function tarMemberNames(tar: Buffer): string[] {
  const names: string[] = [];
  let offset = 0;
  let paxPath: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (from: number, to: number) => header.subarray(from, to).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 136).trim() || '0', 8);
    const type = field(156, 157);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (type === 'x') {
      paxPath = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
    } else {
      const prefix = field(345, 500);
      names.push(paxPath ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100)));
      paxPath = undefined;
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

/** Work the doubles did more than once for one key (e.g. a model answer made twice), by kind. */
export async function repeatedWork(ledgerDir: string): Promise<{ done: number; repeated: Record<string, number> }> {
  const counts = new Map<string, number>();
  for (const file of await readdir(ledgerDir)) {
    if (!file.startsWith('ledger-')) continue;
    for (const line of (await readFile(path.join(ledgerDir, file), 'utf8')).split('\n')) {
      if (line !== '') counts.set(line, (counts.get(line) ?? 0) + 1);
    }
  }
  const repeated: Record<string, number> = {};
  for (const [line, count] of counts) {
    if (count < 2) continue;
    const kind = line.split('\t')[0] ?? '';
    repeated[kind] = (repeated[kind] ?? 0) + count - 1;
  }
  return { done: counts.size, repeated };
}

/** Objects in the store (the run's and every stage's); an fs store's files are counted on disk. */
export async function countObjects(store: ObjectStore, root?: string): Promise<number> {
  if (root !== undefined) {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).length;
  }
  let objects = 0;
  for await (const object of listAll(store, '')) {
    void object;
    objects += 1;
  }
  return objects;
}
