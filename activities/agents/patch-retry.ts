import type { PatchAgentName } from './agent-settings.js';
import type { PatchFailure } from './patch-cascade.js';

// Which of a batch's stored per-patch results an agent stage computes again. An answer never is:
// it was paid for. A failure of the patch's own is when its server never answered
// (ModelUnavailable, on any run of the batch, as a retried activity or a reset finds it) or when a
// rerun names its code. A failure copied from the stage before is whenever that stage's record is
// no longer the same failure (the rerun recomputed it), and only then: copying again is free, but
// the stage counts it as reused. A failure a rerun recorded itself is not asked for again when an
// attempt of the same batch is retried: that would be a second rerun the user never asked for.

/** Failure codes a rerun computes again, or every failure. */
export type RetryFailures = readonly string[] | 'all';

/**
 * A stage's stored record of one patch, as far as retrying it goes: `round`, the round of answers
 * that failed (absent: the first); `retriedIn`, the slide workflow execution whose rerun recorded it.
 */
export type StoredPatchOutcome =
  { ok: true } | { ok: false; failure: PatchFailure; round?: number | undefined; retriedIn?: string | undefined };

/** True when the record holds the failure of an earlier stage (the patch never reached this one). */
export function copiesUpstream(stage: PatchAgentName, record: StoredPatchOutcome): boolean {
  return !record.ok && record.failure.agent !== stage;
}

/**
 * The round of answers to compute the patch's record again with (CallOptions.answerRound), or
 * undefined to keep the record. `upstream` is the earlier stage's record, read by the caller when
 * the record copies it; `execution` is the slide workflow execution the batch runs in. An invalid
 * answer is asked for in the next round: the answers of its round are cached and would fail it
 * again; any other failure keeps its round, whose valid cached answers are still good.
 */
export function retryRound(
  stage: PatchAgentName,
  record: StoredPatchOutcome,
  retry: RetryFailures | undefined,
  upstream?: StoredPatchOutcome,
  execution?: string,
): number | undefined {
  if (record.ok) return undefined;
  if (copiesUpstream(stage, record)) return upstream && !sameFailure(record, upstream) ? 0 : undefined;
  const round = record.round ?? 0;
  const { code } = record.failure;
  if (code === 'ModelUnavailable') return round;
  if (retry === undefined || (retry !== 'all' && !retry.includes(code))) return undefined;
  if (execution !== undefined && record.retriedIn === execution) return undefined;
  return code === 'ModelOutputInvalid' ? round + 1 : round;
}

function sameFailure(record: StoredPatchOutcome & { ok: false }, upstream: StoredPatchOutcome): boolean {
  if (upstream.ok) return false;
  const [a, b] = [record.failure, upstream.failure];
  return a.agent === b.agent && a.code === b.code && a.reason === b.reason;
}
