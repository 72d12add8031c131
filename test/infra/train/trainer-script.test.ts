import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenClipLogEvent } from '../../../activities/train/open-clip-log.js';
import { requireTrainPython } from '../../../infra/harness/installed-tools.js';
import {
  groupAlive,
  runPython,
  startPython,
  tail,
  tinyTrainingArgs,
  trainerScript,
  writeSyntheticShards,
  type PythonRun,
} from './train-python.js';

// infra/train/pathgen_train.py as the train activity uses it: pathgen-tiny on CPU, killed and
// resumed, cancelled, orphaned, and failing, with what each leaves on disk and in the log.

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

function lastEvent(events: readonly OpenClipLogEvent[]): OpenClipLogEvent | undefined {
  return events.at(-1);
}

/** Calls `act` once, at the first progress line of epoch `epoch`. */
function atProgressOfEpoch(epoch: number, act: (run: PythonRun) => void) {
  let done = false;
  return (event: OpenClipLogEvent, run: PythonRun) => {
    if (done || event.kind !== 'progress' || event.epoch !== epoch) return;
    done = true;
    act(run);
  };
}

describe('pathgen_train.py', () => {
  let work = '';
  let trainData = '';
  beforeAll(async () => {
    requireTrainPython();
    work = await mkdtemp(path.join(tmpdir(), 'pathgen-trainer-'));
    // Two shards of 32: up to two dataloader workers, four batches of 16 an epoch.
    trainData = await writeSyntheticShards(work, 64, 32);
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('resumes after a SIGKILL at the epoch after the newest checkpoint', { timeout: 300_000 }, async () => {
    const logs = path.join(work, 'resume');
    const args = [trainerScript, ...tinyTrainingArgs(trainData, 64, logs, 'tiny', 3)];
    const checkpoints = path.join(logs, 'tiny/checkpoints');

    const killed = startPython(args, { onEvent: atProgressOfEpoch(1, (run) => process.kill(-run.pid, 'SIGKILL')) });
    expect(await killed.exited, tail(killed.lines)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await readdir(checkpoints)).toEqual(['epoch_1.pt']);

    // A checkpoint file given by path is refused while the run's out.log exists.
    const refused = await runPython([...args, '--resume', path.join(checkpoints, 'epoch_1.pt')]);
    expect(refused.code).toBe(1);
    expect(refused.events.filter((event) => event.kind === 'error').map((event) => event.message)).toEqual([
      'Error. Experiment already exists. Use --name {} to specify a new experiment.',
      'pathgen_train: open_clip_train refused to run (returned -1; its reason is printed above)',
    ]);

    const resumed = await runPython([...args, '--resume', 'latest']);
    expect(resumed.code, tail(resumed.lines)).toBe(0);
    const milestones = resumed.events.flatMap((event) => {
      if (event.kind === 'resumeSearch') return [`found ${event.path}`];
      if (event.kind === 'resumed') return [`resumed ${event.completedEpochs} ${event.path}`];
      if (event.kind === 'epochStart') return [`start ${event.epoch}`];
      if (event.kind === 'checkpointSaved') return [`saved ${event.completedEpochs}`];
      return [];
    });
    expect(milestones).toEqual([
      `found ${path.join(checkpoints, 'epoch_1.pt')}`,
      `resumed 1 ${path.join(checkpoints, 'epoch_1.pt')}`,
      'start 1',
      'saved 2',
      'start 2',
      'saved 3',
    ]);
    expect(new Set(resumed.events.flatMap((event) => (event.kind === 'progress' ? [event.epoch] : [])))).toEqual(
      new Set([1, 2]),
    );
    expect((await readdir(checkpoints)).sort()).toEqual(['epoch_1.pt', 'epoch_2.pt', 'epoch_3.pt']);
    // open_clip appends to out.log: both attempts are in it.
    const outLog = await readFile(path.join(logs, 'tiny/out.log'), 'utf8');
    expect(outLog).toContain('| INFO | Start epoch 0');
    expect(outLog).toContain("=> resuming checkpoint '");
  });

  it('ends with its dataloader workers on SIGTERM to its process group', { timeout: 120_000 }, async () => {
    const logs = path.join(work, 'cancel');
    const args = [...tinyTrainingArgs(trainData, 64, logs, 'tiny', 50), '--workers', '2'];
    let signalledAt = 0;
    const run = startPython([trainerScript, ...args], {
      onEvent: atProgressOfEpoch(1, (started) => {
        signalledAt = Date.now();
        process.kill(-started.pid, 'SIGTERM');
      }),
    });
    expect(await run.exited, tail(run.lines)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(Date.now() - signalledAt).toBeLessThan(5_000);
    expect(await until(() => !groupAlive(run.pid), 10_000)).toBe(true);
  });

  it('stops when the process named by PATHGEN_TRAIN_PARENT_PID is gone', { timeout: 120_000 }, async () => {
    const parent = spawn('sleep', ['600'], { stdio: 'ignore' });
    const exitedParent = new Promise((resolve) => parent.once('exit', resolve));
    const logs = path.join(work, 'orphan');
    const run = startPython([trainerScript, ...tinyTrainingArgs(trainData, 64, logs, 'tiny', 50)], {
      env: { PATHGEN_TRAIN_PARENT_PID: String(parent.pid) },
      onEvent: atProgressOfEpoch(0, () => parent.kill('SIGKILL')),
    });
    await exitedParent;
    expect(await run.exited, tail(run.lines)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(lastEvent(run.events)).toMatchObject({
      kind: 'error',
      message: `pathgen_train: parent process ${parent.pid} is gone; stopping`,
    });
    expect(await until(() => !groupAlive(run.pid), 10_000)).toBe(true);
  });

  it('fails before training when a shard is missing', { timeout: 120_000 }, async () => {
    const logs = path.join(work, 'missing');
    const missing = trainData.replace('000001', '000002');
    const run = await runPython([trainerScript, ...tinyTrainingArgs(missing, 64, logs, 'tiny', 1)]);
    expect(run.code).toBe(1);
    expect(lastEvent(run.events)).toMatchObject({
      kind: 'error',
      message: `pathgen_train: 1 data file(s) missing: ${path.join(work, 'shards/shard-000002.tar')}`,
    });
    // Nothing was started: no run folder for a later attempt to trip over.
    expect(existsSync(path.join(logs, 'tiny'))).toBe(false);
  });

  it('fails with the reason as its last line for an unknown model', { timeout: 120_000 }, async () => {
    const logs = path.join(work, 'bad-model');
    const args = tinyTrainingArgs(trainData, 64, logs, 'tiny', 1).map((arg) =>
      arg === 'pathgen-tiny' ? 'pathgen-nope' : arg,
    );
    const run = await runPython([trainerScript, ...args]);
    expect(run.code).toBe(1);
    expect(run.lines.at(-1)).toMatch(
      /^\d{4}-\d\d-\d\d,\d\d:\d\d:\d\d \| ERROR \| pathgen_train: training failed: RuntimeError: Model config for 'pathgen-nope' not found/,
    );
    const outLog = await readFile(path.join(logs, 'tiny/out.log'), 'utf8');
    expect(outLog.trimEnd().split('\n').at(-1)).toBe(run.lines.at(-1));
  });
});
