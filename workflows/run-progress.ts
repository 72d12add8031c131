import { zeroUsage, type AgentUsage } from '../activities/contracts/usage.js';

// What `progress` answers, and how slide results add up to it. Kept apart from the workflow so the
// CLI, the demo's progress view and tests share one shape.

export interface RunProgress {
  runId: string;
  phase: 'preparing' | 'running' | 'exporting' | 'done';
  total: number;
  completed: number;
  failed: number;
  running: number;
  paused: boolean;
  maxInFlight: number;
  /** Slides past each slide stage, and patches through the agents. */
  stages: Record<string, { done: number; total: number }>;
  captions: number;
  failuresByReason: Record<string, number>;
  /** Patch failures (a slide that completed may still have patches without a caption). */
  patchFailuresByReason: Record<string, number>;
  usage: AgentUsage;
  etaSeconds?: number;
  /** The first bad manifest rows, as people read them. */
  manifestErrors: string[];
  export?: { version: string; samples: number; shards: number; pointerKey: string; urlPattern?: string };
  continuedAsNew: number;
}

export function emptyProgress(runId: string, maxInFlight: number): RunProgress {
  return {
    runId,
    phase: 'preparing',
    total: 0,
    completed: 0,
    failed: 0,
    running: 0,
    paused: false,
    maxInFlight,
    // Slides past each slide stage (filled in when the total is known), patches captioned, the export.
    stages: { captions: { done: 0, total: 0 }, export: { done: 0, total: 1 } },
    captions: 0,
    failuresByReason: {},
    patchFailuresByReason: {},
    usage: zeroUsage,
    manifestErrors: [],
    continuedAsNew: 0,
  };
}

export function addCount(counts: Record<string, number>, key: string, by = 1): void {
  const next = (counts[key] ?? 0) + by;
  if (next === 0) delete counts[key];
  else counts[key] = next;
}
