import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { nonRetryableFailureTypes } from '../activities/contracts/failure-types.js';

// Per-stage activity options in one place, each with the reason it is set that way.

/**
 * Every activity's retries: a doubling backoff from `initialInterval` up to `maximumInterval`,
 * `maximumAttempts` tries in all, and none for a typed input error (a broken slide, a bad row):
 * a retry cannot mend those.
 */
function retryPolicy(initialInterval: string, maximumInterval: string, maximumAttempts: number): RetryPolicy {
  return {
    initialInterval,
    backoffCoefficient: 2,
    maximumInterval,
    maximumAttempts,
    nonRetryableErrorTypes: [...nonRetryableFailureTypes],
  };
}

/** Tiling a slide: staging a multi-GB slide and writing thousands of patches can take a while. */
export const tileActivityOptions: ActivityOptions = {
  // Long enough for a 4 GB slide staged from S3 plus patch export on a busy CPU worker.
  startToCloseTimeout: '2h',
  // The activity heartbeats every few seconds in every phase; 30 silent seconds means the worker is
  // gone, and the retry (on another worker) starts from the last heartbeat.
  heartbeatTimeout: '30s',
  // Transient failures (store outages, a killed worker) get a few tries; broken slides none.
  retry: retryPolicy('5s', '2m', 5),
};

/** Findings of a report: one model call, seconds; the agents' own retries handle a flaky server. */
export const findingsActivityOptions = (taskQueue: string): ActivityOptions => ({
  taskQueue,
  // Long enough for the agent's own backoff across a full retry budget against a rate-limited server.
  startToCloseTimeout: '30m',
  // It heartbeats every 5 s while the model answers: a killed worker is noticed in a minute, not at
  // the 30-minute limit (the scale benchmark's chaos found a slide waiting out exactly that).
  heartbeatTimeout: '60s',
  retry: retryPolicy('10s', '5m', 5),
});

/** Selecting a slide: staging, thousands of crops through CLIP, k-means; checkpoints per batch. */
export const selectActivityOptions = (taskQueue: string): ActivityOptions => ({
  taskQueue,
  // A 20,000-candidate slide through ViT-L on a busy GPU, staged from S3, fits with room to spare.
  startToCloseTimeout: '4h',
  // Heartbeats come per batch and every 5 s in between; a lost GPU worker is noticed within a minute
  // and the retry resumes from the last finished batch.
  heartbeatTimeout: '60s',
  retry: retryPolicy('10s', '5m', 5),
});

/** A batch of patches through one agent: results are written per patch, so a retry skips what is done. */
export const agentBatchActivityOptions = (taskQueue: string): ActivityOptions => ({
  taskQueue,
  // 64 patches × a slow VLM with backoff; the per-patch heartbeat is what detects a dead worker.
  startToCloseTimeout: '2h',
  // The activity heartbeats every 5 s, also while a patch waits out rate limits: a minute of
  // silence means the worker died, and the retry skips the patches whose results are stored.
  heartbeatTimeout: '60s',
  retry: retryPolicy('30s', '10m', 8),
});

/** Small bookkeeping on the CPU queue (settings, manifest pages, slide records): seconds each. */
export const runBookkeepingOptions = (taskQueue: string): ActivityOptions => ({
  taskQueue,
  // Scanning a 100,000-row manifest from S3 is the slowest of these; it heartbeats every 5,000 rows.
  startToCloseTimeout: '30m',
  heartbeatTimeout: '2m',
  retry: retryPolicy('2s', '1m', 10),
});

/** Exporting a run: reading every record and writing shards; progress heartbeats every 100 samples. */
export const exportActivityOptions = (taskQueue: string): ActivityOptions => ({
  taskQueue,
  // 1.6 M samples at ~1,000/s is under an hour; export of a huge run still fits.
  startToCloseTimeout: '12h',
  // Heartbeats come every 5 s in every phase; a killed worker's export resumes on another from its
  // last finished shard after at most this long.
  heartbeatTimeout: '90s',
  retry: retryPolicy('10s', '5m', 5),
});

/** Materialize mode: cropping a slide's listed positions (about 220) and grouping a 1.6 M-record JSON. */
export const materializeActivityOptions = (taskQueue: string): ActivityOptions => ({
  taskQueue,
  // Grouping the full released JSON reads ~500 MB once; a slide's crops take seconds to minutes.
  startToCloseTimeout: '2h',
  // Both heartbeat as they go (per crop, per 10,000 records); a minute of silence is a dead worker.
  heartbeatTimeout: '60s',
  retry: retryPolicy('5s', '2m', 5),
});

/**
 * One training stage: hours to days of a GPU, a checkpoint per epoch in the store. The heartbeat
 * timeout comes from the training input (default 2 minutes: Python, CUDA and the first batch must
 * start within it); a lost machine costs at most that plus the epoch in progress.
 */
export const trainStageActivityOptions = (taskQueue: string, heartbeatTimeout: string): ActivityOptions => ({
  taskQueue,
  startToCloseTimeout: '30d',
  heartbeatTimeout,
  // A trainer that crashes (out of memory, a lost GPU) gets a few resumed tries; each resumes from
  // the newest stored checkpoint, so a retry costs at most one epoch.
  retry: retryPolicy('10s', '5m', 5),
});

/** Exporting a checkpoint to ONNX and registering it: minutes for ViT-L, seconds for small models. */
export const modelExportActivityOptions = (taskQueue: string): ActivityOptions => ({
  taskQueue,
  startToCloseTimeout: '2h',
  // It heartbeats every 5 s through every phase (the ONNX export of ViT-L takes minutes).
  heartbeatTimeout: '2m',
  retry: retryPolicy('10s', '5m', 3),
});

/** One evaluation task: embedding a dataset (cached per image) and scoring it; minutes to hours. */
export const evalTaskActivityOptions = (taskQueue: string): ActivityOptions => ({
  taskQueue,
  startToCloseTimeout: '12h',
  // Progress is heartbeated every 5 s; a retry finds every embedded image in the feature cache.
  heartbeatTimeout: '2m',
  retry: retryPolicy('10s', '5m', 5),
});
