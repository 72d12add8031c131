import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/harness/installed-tools.js';

// The review app's benchmark still runs end to end on a small run (its own checks: every status,
// the slide links of each page, ETags and 304s). Its figures are not asserted: it is a script.

const run = promisify(execFile);

describe('bench/review-app.ts', () => {
  it('runs on 30 slides and prints every figure with its reference', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench', 'review-app.ts')], {
      cwd: repoRoot,
      env: { ...process.env, BENCH_SLIDES: '30', BENCH_REPEATS: '2', BENCH_IMAGE_REPEATS: '2' },
      timeout: 120_000,
    });
    for (const figure of ['run page, cold', 'run page 1, warm', 'search ?q=necrosis, warm', 'thumbnail 304']) {
      expect(stdout).toContain(figure);
    }
    expect(stdout).toMatch(/fixture: 30 slides/);
  }, 150_000);
});
