import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PathgenError } from '../common/errors.js';

// The trainer runs as a child process in its own process group: open_clip starts dataloader
// workers (and torchrun more processes), and a cancelled or failed stage must stop all of them,
// not just the Python we started. The log is read line by line as it arrives; the last lines are
// kept so a failure can say what went wrong.

export interface TrainerProcessOptions {
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called for every line on stdout or stderr, in arrival order per stream. */
  onLine?: (line: string) => void;
  /** Aborting terminates the process group: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  killGraceMs?: number;
  /** Lines kept for the failure message. */
  tailLines?: number;
}

export interface TrainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  tail: string[];
}

export type TrainerProcessErrorCode = 'TrainerFailed' | 'TrainerNotInstalled' | 'TrainerCancelled';

/** Runs the trainer to its end; resolves when it exits 0, rejects with the log's tail otherwise. */
export async function runTrainerProcess(options: TrainerProcessOptions): Promise<TrainerExit> {
  const exit = await spawnTrainer(options);
  if (options.signal?.aborted) {
    throw new PathgenError<TrainerProcessErrorCode>(
      'TrainerCancelled',
      'the trainer was stopped: the stage was cancelled',
      {
        tail: exit.tail,
      },
    );
  }
  if (exit.code === 0) return exit;
  const how = exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal ?? 'a signal'}`;
  throw new PathgenError<TrainerProcessErrorCode>(
    'TrainerFailed',
    `the trainer ${how}; last lines of its log:\n${exit.tail.join('\n')}`,
    { exitCode: exit.code, signal: exit.signal, tail: exit.tail },
  );
}

function spawnTrainer(options: TrainerProcessOptions): Promise<TrainerExit> {
  const tailSize = options.tailLines ?? 40;
  const tail: string[] = [];
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    // A process group of its own, so the whole tree can be signalled with -pid.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > tailSize) tail.shift();
    options.onLine?.(line);
  };
  const readers = [child.stdout, child.stderr].map((stream) => {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', keep);
    return new Promise<void>((resolve) => lines.once('close', () => resolve()));
  });

  let killTimer: NodeJS.Timeout | undefined;
  const terminate = () => {
    signalGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), options.killGraceMs ?? 10_000);
  };
  if (options.signal?.aborted) terminate();
  else options.signal?.addEventListener('abort', terminate, { once: true });
  // A worker that exits normally (Ctrl-C on the CLI, a test's teardown) takes its trainer along;
  // a SIGKILLed worker cannot, which is why the trainer also watches its parent (pathgen_train.py).
  const onExit = () => signalGroup(child.pid, 'SIGKILL');
  process.once('exit', onExit);

  return new Promise<TrainerExit>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      cleanup();
      reject(
        error.code === 'ENOENT'
          ? new PathgenError<TrainerProcessErrorCode>(
              'TrainerNotInstalled',
              `cannot start the trainer ${options.command}: not found (run infra/install-tools.sh --train, or set PATHGEN_TRAIN_PYTHON)`,
              { command: options.command },
            )
          : error,
      );
    });
    child.once('exit', (code, signal) => {
      // Whatever the trainer left behind in its group (dataloader workers) goes with it.
      signalGroup(child.pid, 'SIGKILL');
      void Promise.all(readers).then(() => {
        cleanup();
        resolve({ code, signal, tail: [...tail] });
      });
    });
  });

  function cleanup() {
    if (killTimer) clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', terminate);
    process.removeListener('exit', onExit);
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}
