import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../infra/harness/installed-tools.js';
import './setup/quiet-temporal-runtime.js';

const historiesDir = path.join(repoRoot, 'test', 'histories');
const historyFiles = readdirSync(historiesDir, { recursive: true, encoding: 'utf8' }).filter((file) =>
  file.endsWith('.json'),
);
const workflowsPath = path.join(repoRoot, 'workflows', 'index.ts');

function load(file: string): unknown {
  return JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8'));
}

describe('replay of committed histories', () => {
  it('has histories to replay, including one that must fail', () => {
    expect(historyFiles.filter((file) => !file.endsWith('.nondeterministic.json')).length).toBeGreaterThan(0);
    expect(historyFiles.some((file) => file.endsWith('.nondeterministic.json'))).toBe(true);
  });

  for (const file of historyFiles) {
    const mustFail = file.endsWith('.nondeterministic.json');
    it(`${file} ${mustFail ? 'fails the determinism check' : 'replays cleanly'}`, async () => {
      const replay = Worker.runReplayHistory({ workflowsPath, replayName: file }, load(file));
      if (mustFail) await expect(replay).rejects.toBeInstanceOf(DeterminismViolationError);
      else await expect(replay).resolves.toBeUndefined();
    }, 60_000);
  }
});
