import { describe, expect, it } from 'vitest';
import { progressLine, progressLines, type ProgressShown } from '../../workers/demo/progress-view.js';
import { emptyPatchProgress } from '../../workflows/slide-patches.js';

// The demo's patch bars: selected → described → revised → summarized, from the run's live patch
// counts, while slides are still running.

function progress(patches: ProgressShown['patches']): ProgressShown {
  return {
    total: 2,
    completed: 0,
    failed: 0,
    running: 2,
    stages: { tile: { done: 2, total: 2 }, findings: { done: 2, total: 2 }, select: { done: 2, total: 2 } },
    captions: 0,
    failuresByReason: {},
    paused: false,
    ...(patches ? { patches } : {}),
  };
}

describe('the progress view with patch counts', () => {
  const patches = {
    ...emptyPatchProgress(),
    candidates: 300,
    selected: 128,
    described: { succeeded: 62, failed: 2 },
    revised: { succeeded: 32, failed: 0 },
    summarized: { succeeded: 0, failed: 0 },
    failed: 2,
    batchesInFlight: 2,
  };

  it('draws a bar per agent stage out of the selected patches, failures named', () => {
    const lines = progressLines(progress(patches));
    const start = lines.findIndex((line) => line.startsWith('patches'));
    expect(lines[start]).toBe('patches    128 selected of 300 candidates, 2 agent batches running');
    expect(lines.slice(start + 1, start + 4).map((line) => line.trim().split(/\s+/)[0])).toEqual([
      'described',
      'revised',
      'summarized',
    ]);
    expect(lines[start + 1]).toMatch(/\[█{12}░{12}\] {2}50% {2}64\/128 \(2 failed\)$/);
    expect(lines[start + 2]).toMatch(/\[█{6}░{18}\] {2}25% {2}32\/128$/);
    expect(lines[start + 3]).toMatch(/\[░{24}\] {3}0% {2}0\/128$/);
    expect(lines.at(-1)).toBe('captions   0    failures   none');
    expect(progressLine(progress(patches))).toContain(
      '| patches 128 selected, 64 described, 32 revised, 0 summarized |',
    );
  });

  it('shows no patch bars before any slide is tiled, nor for a run without patch counts', () => {
    for (const shown of [progress(emptyPatchProgress()), progress(undefined)]) {
      expect(progressLines(shown).some((line) => line.startsWith('patches'))).toBe(false);
      expect(progressLine(shown)).not.toContain('patches');
    }
  });
});
