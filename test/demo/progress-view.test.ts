import { describe, expect, it } from 'vitest';
import {
  createProgressView,
  formatDemoSummary,
  formatDuration,
  progressLine,
  type ProgressShown,
} from '../../workers/demo/progress-view.js';

function progress(overrides: Partial<ProgressShown> = {}): ProgressShown {
  return {
    total: 3,
    completed: 1,
    failed: 0,
    running: 2,
    stages: {
      tile: { done: 3, total: 3 },
      findings: { done: 3, total: 3 },
      select: { done: 2, total: 3 },
      describe: { done: 40, total: 128 },
    },
    captions: 12,
    failuresByReason: {},
    etaSeconds: 65,
    paused: false,
    ...overrides,
  };
}

function recorder(columns?: number) {
  const writes: string[] = [];
  return { writes, stream: { write: (text: string) => writes.push(text), ...(columns ? { columns } : {}) } };
}

/** What a terminal shows after the writes: cursor-up and line clears applied. */
function screen(writes: string[]): string[] {
  const lines: string[] = [];
  let row = 0;
  const escape = '\x1b';
  const parts = writes.join('').split(new RegExp(`(${escape}\\[\\d+A|\r${escape}\\[2K|\n)`));
  for (const part of parts) {
    const up = new RegExp(`^${escape}\\[(\\d+)A$`).exec(part);
    if (up) row -= Number(up[1]);
    else if (part === '\n') row++;
    else if (part === '\r\x1b[2K') lines[row] = '';
    else if (part !== '') lines[row] = (lines[row] ?? '') + part;
  }
  return lines;
}

describe('createProgressView on a terminal', () => {
  it('draws a bar per stage and redraws the block in place', () => {
    const { writes, stream } = recorder();
    const view = createProgressView({ stream, isTTY: true });
    view.update(progress());
    const first = screen(writes);
    expect(first).toHaveLength(9);
    expect(first[0]).toMatch(/^slides +\[█{8}░{16}\] {2}33% {2}1 done, 0 failed, 2 running of 3 {2}ETA 1m 05s$/);
    expect(first.slice(1, 8).map((line) => line.trim().split(/\s+/)[0])).toEqual([
      'tile',
      'findings',
      'select',
      'describe',
      'revise',
      'summarize',
      'export',
    ]);
    expect(first[1]).toMatch(/\[█{24}\] 100% {2}3\/3$/);
    expect(first[4]).toMatch(/\[█{7}░{17}\] {2}31% {2}40\/128$/);
    expect(first[5]).toMatch(/\[░{24}\] +waiting$/);
    expect(first[8]).toBe('captions   12    failures   none');
    expect(writes[0]).not.toContain('\x1b[9A');

    view.update(
      progress({
        completed: 2,
        failed: 1,
        running: 0,
        stages: { ...progress().stages, describe: { done: 128, total: 128 }, export: { done: 0, total: 1 } },
        captions: 120,
        failuresByReason: { NoTissue: 1, ModelOutputInvalid: 2 },
        paused: true,
      }),
    );
    expect(writes[1]!.startsWith('\x1b[9A')).toBe(true);
    const second = screen(writes);
    expect(second).toHaveLength(9);
    expect(second[0]).toContain('2 done, 1 failed, 0 running of 3');
    expect(second[0]).toContain('PAUSED');
    expect(second[4]).toMatch(/128\/128$/);
    expect(second[7]).toMatch(/0\/1$/);
    expect(second[8]).toBe('captions   120    failures   ModelOutputInvalid 2, NoTissue 1');

    view.finish();
    expect(screen(writes)).toEqual(second);
    view.update(progress());
    expect(screen(writes)).toEqual(second);
  });

  it('shows stages it does not know after the pipeline and clips lines to the terminal width', () => {
    const { writes, stream } = recorder(40);
    const view = createProgressView({ stream, isTTY: true });
    view.update(progress({ stages: { ...progress().stages, materialize: { done: 1, total: 2 } } }));
    const lines = screen(writes);
    expect(lines).toHaveLength(10);
    expect(lines[8]).toMatch(/^ {2}materialize/);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(39);
    expect(lines[0]!.endsWith('…')).toBe(true);
  });
});

describe('createProgressView in a log', () => {
  it('writes one compact line at most every interval, skips repeats, and always writes the last', () => {
    const { writes, stream } = recorder();
    let clock = 0;
    const view = createProgressView({ stream, isTTY: false, lineIntervalMs: 5000, now: () => clock });
    view.update(progress());
    clock = 1000;
    view.update(progress({ captions: 20 }));
    clock = 6000;
    view.update(progress({ captions: 20 }));
    clock = 12000;
    view.update(progress({ captions: 20 }));
    view.finish(progress({ completed: 3, running: 0, captions: 128, etaSeconds: 0 }));
    expect(writes).toEqual([
      'pathgen: slides 1 done, 0 failed, 2 running of 3 | tile 3/3, findings 3/3, select 2/3, describe 40/128, revise -, summarize -, export - | captions 12 | ETA 1m 05s\n',
      'pathgen: slides 1 done, 0 failed, 2 running of 3 | tile 3/3, findings 3/3, select 2/3, describe 40/128, revise -, summarize -, export - | captions 20 | ETA 1m 05s\n',
      'pathgen: slides 3 done, 0 failed, 0 running of 3 | tile 3/3, findings 3/3, select 2/3, describe 40/128, revise -, summarize -, export - | captions 128 | ETA 0s\n',
    ]);
    for (const line of writes) expect(line).not.toContain('\x1b');
  });

  it('names failures and a pause, and defaults to the stream telling whether it is a terminal', () => {
    expect(progressLine(progress({ failuresByReason: { NoTissue: 2 }, paused: true }))).toMatch(
      / \| failures NoTissue 2 \| ETA 1m 05s \| PAUSED$/,
    );
    const { writes, stream } = recorder();
    createProgressView({ stream: { ...stream, isTTY: true } }).update(progress());
    expect(writes[0]).toContain('\r\x1b[2K');
  });
});

describe('formatDemoSummary', () => {
  it('says what was made, where it is and where to watch it', () => {
    const text = formatDemoSummary({
      slides: { total: 3, completed: 3, failed: 0 },
      patches: 130,
      captions: 128,
      failures: { ModelOutputInvalid: 2 },
      seconds: 102,
      datasetDir: '/data/pathgen-demo/dataset',
      uiUrl: 'http://127.0.0.1:8233',
      runId: 'demo-1',
    });
    const lines = text.split('\n');
    expect(lines[0]).toBe('pathgen demo finished in 1m 42s');
    expect(text).toContain('slides       3 (3 completed, 0 failed)');
    expect(text).toContain('patches      130 selected, 128 captioned');
    expect(text).toContain('failures     ModelOutputInvalid 2');
    expect(text).toContain('dataset      /data/pathgen-demo/dataset');
    expect(lines.at(-1)).toBe(
      '  Temporal UI  http://127.0.0.1:8233/namespaces/default/workflows?query=PathgenRunId%3D%22demo-1%22',
    );
    const failed = formatDemoSummary({
      slides: { total: 3, completed: 2, failed: 1 },
      patches: 80,
      captions: 80,
      failures: {},
      seconds: 5,
      datasetDir: 'out',
      uiUrl: 'http://127.0.0.1:8233',
    });
    expect(failed.split('\n')[0]).toBe('pathgen demo finished with failures in 5s');
    expect(failed).toContain('failures     none');
    expect(failed.split('\n').at(-1)).toBe('  Temporal UI  http://127.0.0.1:8233');
  });

  it('formats durations for people', () => {
    expect([0, 42.4, 60, 185, 3600, 3725, 90061].map(formatDuration)).toEqual([
      '0s',
      '42s',
      '1m 00s',
      '3m 05s',
      '1h 00m',
      '1h 02m',
      '25h 01m',
    ]);
  });
});
