import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../infra/harness/installed-tools.js';

const tsxLoader = import.meta.resolve('tsx');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the real CLI from source (through tsx) in a child process, in `cwd` (default: the repository). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = repoRoot): ChildProcessWithoutNullStreams {
  // tsx by its resolved URL: a bare `--import tsx` is looked up from the child's cwd.
  return spawn(process.execPath, ['--import', tsxLoader, path.join(repoRoot, 'workers/cli.ts'), ...args], {
    cwd,
    env: { ...cleanEnv(), ...env },
  });
}

/** Runs the CLI to completion and collects its output. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The caller's environment without PATHGEN_* settings, so tests see only what they set. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PATHGEN_')));
}

/** A real `pathgen worker` process; resolves once it reports that it polls (rejects if it exits first). */
export async function startWorkerProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<ChildProcessWithoutNullStreams> {
  const child = spawnCli(['worker', ...args], env, cwd);
  child.stdout.resume();
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('polling')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${stderr}`)));
  });
  return child;
}

/** Whether a process with this id exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
