// Figures of bench/run.ts: what each side measured, history event counts and activity times read
// from Temporal histories, the clocks, and the printed comparison.
import type { WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** The budget: at most this many history events for a slide of this many patches. */
const eventBudget = { events: 300, patches: 256 };

export const fixed = (value: number, digits = 1) => value.toFixed(digits);

export interface Elapsed {
  ms: number;
  /** CPU time of this process: the activities and, on the Temporal side, the workers and workflows. */
  cpuMs: number;
  /** CPU time of the Temporal dev server, when this benchmark started it (read from /proc). */
  serverCpuMs?: number;
}

/** Run time of each activity type, summed over its calls (waits for a slot excluded). */
export type ActivityTimes = Record<string, { calls: number; ms: number }>;

export interface Measured extends Elapsed {
  completed: number;
  failed: number;
  candidates: number;
  selected: number;
  captioned: number;
  activities: ActivityTimes;
}

export interface TemporalRun extends Measured {
  slideHistories: HistoryFigures[];
  runEvents: number;
  /** Each activity's time from scheduled to started, ms. */
  waits: number[];
  /** Each workflow task's time from started to completed (the worker's part), ms. */
  workflowTasks: number[];
}

export interface HistoryFigures {
  events: number;
  activity: number;
  workflowTask: number;
  other: number;
  batches: number;
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

export function countEvents(history: History): HistoryFigures {
  const counts: HistoryFigures = { events: 0, activity: 0, workflowTask: 0, other: 0, batches: 0 };
  for (const event of history.events ?? []) {
    counts.events += 1;
    if (
      event.activityTaskScheduledEventAttributes ??
      event.activityTaskStartedEventAttributes ??
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes
    )
      counts.activity += 1;
    else if (
      event.workflowTaskScheduledEventAttributes ??
      event.workflowTaskStartedEventAttributes ??
      event.workflowTaskCompletedEventAttributes ??
      event.workflowTaskFailedEventAttributes ??
      event.workflowTaskTimedOutEventAttributes
    )
      counts.workflowTask += 1;
    else counts.other += 1;
    if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'describePatches') counts.batches += 1;
  }
  return counts;
}

/**
 * Each finished activity's run time (started → closed) by type and its wait (scheduled → started);
 * each workflow task's time in the worker (started → completed).
 */
export function addTimes(history: History, times: ActivityTimes, waits: number[], workflowTasks: number[]): void {
  const scheduled = new Map<string, { type: string; at: number }>();
  const started = new Map<string, number>();
  const taskStarted = new Map<string, number>();
  for (const event of history.events ?? []) {
    const at = tsToMs(event.eventTime);
    if (event.workflowTaskStartedEventAttributes) taskStarted.set(String(event.eventId), at);
    const taskDone = event.workflowTaskCompletedEventAttributes;
    const taskFrom = taskDone ? taskStarted.get(String(taskDone.startedEventId)) : undefined;
    if (taskFrom !== undefined) workflowTasks.push(at - taskFrom);
    const schedule = event.activityTaskScheduledEventAttributes;
    if (schedule) scheduled.set(String(event.eventId), { type: schedule.activityType?.name ?? '?', at });
    const start = event.activityTaskStartedEventAttributes;
    if (start) started.set(String(start.scheduledEventId), at);
    const closed =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes;
    const from = closed ? scheduled.get(String(closed.scheduledEventId)) : undefined;
    const startedAt = closed ? started.get(String(closed.scheduledEventId)) : undefined;
    if (!from || startedAt === undefined) continue;
    const time = (times[from.type] ??= { calls: 0, ms: 0 });
    time.calls += 1;
    time.ms += at - startedAt;
    waits.push(startedAt - from.at);
  }
}

export function report<T extends Measured>(label: string, run: T): T {
  console.log(
    `${label}: ${run.completed} slides completed, ${run.failed} failed; ${run.candidates} candidates, ` +
      `${run.captioned} of ${run.selected} selected patches captioned in ${fixed(run.ms / 1000, 2)} s = ` +
      `${fixed((run.captioned / run.ms) * 1000, 2)} patches/s; CPU ${fixed(run.cpuMs / 1000)} s in this process` +
      (run.serverCpuMs !== undefined ? ` + ${fixed(run.serverCpuMs / 1000)} s in the Temporal server` : ''),
  );
  return run;
}

export function compare(reference: Measured, temporal: TemporalRun): void {
  const overheadMs = temporal.ms - reference.ms;
  console.log(
    `ratio Temporal / in-process wall time: ${fixed(temporal.ms / reference.ms, 3)}×; orchestration overhead ` +
      `${fixed((overheadMs / temporal.ms) * 100)} % of Temporal's wall time, ${fixed(overheadMs / Math.max(1, temporal.captioned), 2)} ms per captioned patch`,
  );
  // Unlike wall time, CPU time hardly depends on what else a shared machine is running.
  const cpuOf = (run: Measured) => run.cpuMs + (run.serverCpuMs ?? 0);
  const extraCpuMs = cpuOf(temporal) - cpuOf(reference);
  console.log(
    `CPU time Temporal / in-process: ${fixed(cpuOf(temporal) / cpuOf(reference), 3)}×; ${fixed(extraCpuMs / 1000, 2)} CPU s more ` +
      `= ${fixed((extraCpuMs / cpuOf(temporal)) * 100)} % of Temporal's, ${fixed(extraCpuMs / Math.max(1, temporal.captioned), 2)} CPU ms per captioned patch`,
  );
  if (reference.captioned !== temporal.captioned || reference.selected !== temporal.selected)
    console.log('note: the two sides captioned different numbers of patches; compare patches/s, not wall time');
  const cell = (times: ActivityTimes, type: string) => {
    const time = times[type];
    return time ? `${time.calls} × = ${fixed(time.ms / 1000, 2)} s` : '-';
  };
  console.log('activity run time, summed over calls (in-process | Temporal):');
  for (const type of new Set([...Object.keys(reference.activities), ...Object.keys(temporal.activities)]))
    console.log(
      `  ${type.padEnd(18)} ${cell(reference.activities, type).padEnd(18)} | ${cell(temporal.activities, type)}`,
    );
  const waits = [...temporal.waits].sort((a, b) => a - b);
  const median = (sorted: number[]) => fixed(sorted[Math.floor(sorted.length / 2)] ?? 0);
  console.log(
    `Temporal schedule-to-start over ${waits.length} activities: median ${median(waits)} ms, ` +
      `max ${fixed(waits.at(-1) ?? 0)} ms (waits for a free worker slot included)`,
  );
  const tasks = [...temporal.workflowTasks].sort((a, b) => a - b);
  console.log(
    `Temporal workflow tasks: ${tasks.length}, started → completed median ${median(tasks)} ms, ` +
      `max ${fixed(tasks.at(-1) ?? 0)} ms, ${fixed(tasks.reduce((sum, ms) => sum + ms, 0) / 1000, 2)} s in all`,
  );
}

/**
 * Events per slide, and an estimate for a slide of 256 patches: a slide with fewer agent batches
 * than that gets, per missing batch, three activities (scheduled, started, completed), each with a
 * workflow task of its own (scheduled, started, completed): 18 events, the most a batch can add
 * (batches that finish together share workflow tasks, so fewer is the rule).
 */
export function reportHistories(run: TemporalRun, batchSize: number): void {
  const histories = run.slideHistories;
  const counts = histories.map((slide) => slide.events);
  const mean = (pick: (slide: HistoryFigures) => number) =>
    fixed(histories.reduce((sum, slide) => sum + pick(slide), 0) / Math.max(1, histories.length));
  console.log(
    `history events per slide: min ${Math.min(...counts)}, mean ${mean((s) => s.events)}, max ${Math.max(...counts)} ` +
      `(mean ${mean((s) => s.activity)} activity, ${mean((s) => s.workflowTask)} workflow task, ${mean((s) => s.other)} other events; ` +
      `agent batches per slide: ${histories.map((slide) => slide.batches).join(', ')})`,
  );
  const batchesAtCap = Math.ceil(eventBudget.patches / batchSize);
  const worst = Math.max(...histories.map((s) => s.events + Math.max(0, batchesAtCap - s.batches) * 18));
  console.log(
    `estimate for ${eventBudget.patches} patches (${batchesAtCap} batches of ${batchSize}; +18 events per missing batch, an upper bound): ` +
      `at most ${worst} events per slide → ${worst <= eventBudget.events ? 'within' : 'OVER'} the ${eventBudget.events}-event budget`,
  );
  console.log(
    `run workflow history: ${run.runEvents} events for ${histories.length} slides (${fixed(run.runEvents / Math.max(1, histories.length))} per slide)`,
  );
}

/** The mean of two reference runs of the same input (counts are the same; times are averaged). */
export function meanOf(a: Measured, b: Measured): Measured {
  const mean = (x: number, y: number) => (x + y) / 2;
  const activities: ActivityTimes = {};
  for (const type of new Set([...Object.keys(a.activities), ...Object.keys(b.activities)])) {
    const [x, y] = [a.activities[type], b.activities[type]];
    activities[type] = { calls: x?.calls ?? y?.calls ?? 0, ms: mean(x?.ms ?? 0, y?.ms ?? 0) };
  }
  return {
    ...a,
    ms: mean(a.ms, b.ms),
    cpuMs: mean(a.cpuMs, b.cpuMs),
    ...(a.serverCpuMs !== undefined && b.serverCpuMs !== undefined
      ? { serverCpuMs: mean(a.serverCpuMs, b.serverCpuMs) }
      : {}),
    activities,
  };
}

/** Starts the clocks: wall time, this process's CPU time and the dev server's. */
export function startClock(serverPid: number | undefined): () => Elapsed {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const server = serverPid !== undefined ? processCpuMs(serverPid) : undefined;
  return () => {
    const used = process.cpuUsage(cpu);
    const serverNow = serverPid !== undefined ? processCpuMs(serverPid) : undefined;
    return {
      ms: performance.now() - wall,
      cpuMs: (used.user + used.system) / 1000,
      ...(server !== undefined && serverNow !== undefined ? { serverCpuMs: serverNow - server } : {}),
    };
  };
}

/** User + system time of a process from /proc/<pid>/stat (Linux's USER_HZ is 100 ticks a second). */
function processCpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
