import { describe, expect, it } from 'vitest';
import { copiesUpstream, retryRound, type StoredPatchOutcome } from '../../activities/agents/index.js';

// Which stored per-patch records an agent stage computes again: answers never, a server that never
// answered always, a rerun's failure codes on request (an invalid answer in the next round of
// answers), a copied upstream failure only once its upstream changed.

const failed = (
  agent: 'describe' | 'revise' | 'summarize',
  code: string,
  round?: number,
  retriedIn?: string,
): StoredPatchOutcome => ({
  ok: false,
  failure: { agent, code, reason: `${agent} failed: ${code}` },
  ...(round !== undefined ? { round } : {}),
  ...(retriedIn !== undefined ? { retriedIn } : {}),
});

describe('retryRound', () => {
  it('keeps every answer, whatever a rerun asks for', () => {
    expect(retryRound('describe', { ok: true }, 'all')).toBeUndefined();
    expect(retryRound('summarize', { ok: true }, ['ModelOutputInvalid'])).toBeUndefined();
  });

  it('retries a server that never answered on any run of the batch, in the same round', () => {
    expect(retryRound('describe', failed('describe', 'ModelUnavailable'), undefined)).toBe(0);
    expect(retryRound('revise', failed('revise', 'ModelUnavailable', 2), undefined)).toBe(2);
  });

  it('keeps other failures unless a rerun names their code or all', () => {
    const invalid = failed('describe', 'ModelOutputInvalid');
    expect(retryRound('describe', invalid, undefined)).toBeUndefined();
    expect(retryRound('describe', invalid, ['ModelUnavailable'])).toBeUndefined();
    expect(retryRound('describe', failed('describe', 'InvalidInput'), ['ModelOutputInvalid'])).toBeUndefined();
    expect(retryRound('describe', failed('describe', 'InvalidInput'), 'all')).toBe(0);
  });

  it('asks for the next round of answers after an invalid one: the cached round would fail again', () => {
    expect(retryRound('describe', failed('describe', 'ModelOutputInvalid'), ['ModelOutputInvalid'])).toBe(1);
    expect(retryRound('summarize', failed('summarize', 'ModelOutputInvalid', 1), 'all')).toBe(2);
  });

  it('does not ask again for a failure its own rerun recorded (a retried attempt of the batch)', () => {
    const recorded = failed('describe', 'ModelOutputInvalid', 1, 'rerun-1');
    expect(retryRound('describe', recorded, 'all', undefined, 'rerun-1')).toBeUndefined();
    expect(retryRound('describe', recorded, 'all', undefined, 'rerun-2')).toBe(2);
    const down = failed('describe', 'ModelUnavailable', undefined, 'rerun-1');
    expect(retryRound('describe', down, 'all', undefined, 'rerun-1')).toBe(0);
  });

  it('recomputes a copied upstream failure only when the upstream record is no longer that failure', () => {
    const copy = failed('describe', 'ModelOutputInvalid');
    expect(copiesUpstream('revise', copy)).toBe(true);
    expect(copiesUpstream('describe', copy)).toBe(false);
    expect(retryRound('revise', copy, 'all', failed('describe', 'ModelOutputInvalid', 1))).toBeUndefined();
    expect(retryRound('revise', copy, undefined, { ok: true })).toBe(0);
    expect(retryRound('summarize', copy, undefined, failed('revise', 'ModelUnavailable'))).toBe(0);
    // Without the upstream record there is nothing to tell a change by: kept.
    expect(retryRound('revise', copy, 'all')).toBeUndefined();
  });
});
