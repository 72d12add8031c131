import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Thrown when the executable itself is missing, so callers can say what to install. */
export class CommandNotFound extends Error {
  constructor(readonly command: string) {
    super(`${command} not found on PATH`);
  }
}

/**
 * The environment for child processes. sharp's bundled libvips sets VIPSHOME to its own build
 * prefix when it loads; a system `vips` that inherits it looks for its loadable modules (OpenSlide,
 * OpenJPEG) there, finds none, and quietly lacks openslideload.
 */
function childEnvironment(): NodeJS.ProcessEnv {
  const { VIPSHOME: _sharpsPrefix, ...env } = process.env;
  return env;
}

/** Runs a command to completion, collecting its output; never throws for a non-zero exit. */
export function runCommand(
  command: string,
  args: string[],
  options: { signal?: AbortSignal; maxOutputBytes?: number } = {},
): Promise<CommandResult> {
  const maxOutput = options.maxOutputBytes ?? 4 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
      env: childEnvironment(),
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      if ((outBytes += chunk.length) <= maxOutput) stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if ((errBytes += chunk.length) <= maxOutput) stderr.push(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new CommandNotFound(command) : error);
    });
    child.on('close', (code, signal) => {
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}
