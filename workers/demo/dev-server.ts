import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { PathgenError, errorMessage } from '../../activities/common/errors.js';
import { pathgenSearchAttributes } from '../../workflows/search-attributes.js';
import { cliTypeName, registerSearchAttributes } from '../namespace-setup.js';
import { toolsBin } from '../package-info.js';

// A Temporal dev server for the demo: the one already answering at the address, or one started
// from the installed CLI with its state in a SQLite file, so a rerun finds its workflows again.
// The layout under stateDir is infra/dev.sh's (temporal.db, logs/temporal.log, pids/temporal.pid),
// so `infra/dev.sh down` can stop a server the demo left running, and the search attributes are
// the ones it registers.

export interface DevServerOptions {
  /** host:port of the frontend (default 127.0.0.1:7233). */
  address?: string;
  stateDir: string;
  /** Web UI port (default 8233). */
  uiPort?: number;
  /** The CLI to run (default .tools/bin/temporal, then `temporal` on PATH). */
  temporalBinary?: string;
  /**
   * Keep the server running after this process exits, in its own process group (default false:
   * it shares ours, so Ctrl-C stops both).
   */
  detach?: boolean;
  /** How long to wait for a started server to answer (default 60 s). */
  startTimeoutMs?: number;
  onLog?: (line: string) => void;
}

export interface DevServer {
  address: string;
  /** The Web UI; for a server found running, where the UI port option says it is. */
  uiUrl: string;
  /** True when this call started the server; false when one was already answering. */
  started: boolean;
  /** The server's log file, when this call started it. */
  logFile?: string;
  /** Stops the server if this call started it; otherwise does nothing. */
  stop(): Promise<void>;
}

const namespace = 'default';
/** gRPC health: SERVING. Temporal's IndexedValueType: the names of its values (2 is Keyword). */
const serving = 1;
const indexedValueTypes = ['Unspecified', 'Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList'];

export async function ensureTemporalDevServer(options: DevServerOptions): Promise<DevServer> {
  const address = options.address ?? '127.0.0.1:7233';
  const { host, port } = parseAddress(address);
  const uiPort = options.uiPort ?? 8233;
  const uiUrl = `http://${host}:${uiPort}`;
  const log = options.onLog ?? (() => undefined);

  if (await portOpen(host, port)) {
    const connection = await connectTemporal(address, 3000).catch((error: unknown) => {
      throw new PathgenError(
        'Misconfigured',
        `something is listening on ${address}, but it is not a Temporal server (${errorMessage(error)}); stop it or give pathgen another Temporal address`,
        { address },
      );
    });
    try {
      const added = await registerSearchAttributes(connection, namespace);
      if (added.length > 0) log(`registered search attributes ${added.join(', ')} on ${address}`);
    } finally {
      await connection.close();
    }
    log(`using the Temporal server at ${address}`);
    return { address, uiUrl, started: false, stop: () => Promise.resolve() };
  }

  const binary = findTemporalBinary(options.temporalBinary);
  if (await portOpen(host, uiPort))
    throw new PathgenError(
      'Misconfigured',
      `port ${uiPort} for the Temporal Web UI is taken by another process; free it or choose another UI port`,
      { uiPort },
    );
  const stateDir = path.resolve(options.stateDir);
  const logFile = path.join(stateDir, 'logs', 'temporal.log');
  const pidFile = path.join(stateDir, 'pids', 'temporal.pid');
  await mkdir(path.dirname(logFile), { recursive: true });
  await mkdir(path.dirname(pidFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    host,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    path.join(stateDir, 'temporal.db'),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    ...pathgenSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=${cliTypeName(key.type)}`]),
  ];
  log(`starting a Temporal dev server at ${address} (UI ${uiUrl}, state ${stateDir}, log ${logFile})`);
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { stdio: ['ignore', logFd, logFd], detached: options.detach ?? false });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
    child.once('error', () => resolve(-1));
  });
  // A server that shares our process group must not outlive us when the caller forgets stop().
  const killOnExit = () => child.kill('SIGTERM');
  if (options.detach) child.unref();
  else process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const signal = (name: NodeJS.Signals) => {
      try {
        if (options.detach && child.pid !== undefined) process.kill(-child.pid, name);
        else child.kill(name);
      } catch {
        // Already gone.
      }
    };
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    await rm(pidFile, { force: true });
  };

  try {
    await waitUntilHealthy(address, options.startTimeoutMs ?? 60_000, exited, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  await writeFile(pidFile, `${child.pid}\n`);
  log(`Temporal dev server ready at ${address}; UI ${uiUrl}`);
  return { address, uiUrl, started: true, logFile, stop };
}

function parseAddress(address: string): { host: string; port: number } {
  const match = /^([^:]+):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535)
    throw new PathgenError('InvalidInput', `a Temporal address is host:port, got ${JSON.stringify(address)}`, {
      address,
    });
  return { host: match[1]!, port };
}

function findTemporalBinary(explicit: string | undefined): string {
  if (explicit !== undefined) {
    if (existsSync(explicit)) return explicit;
    throw new PathgenError('Misconfigured', `the Temporal CLI ${explicit} does not exist; run infra/install-tools.sh`, {
      binary: explicit,
    });
  }
  const local = path.join(toolsBin, 'temporal');
  if (existsSync(local)) return local;
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => path.join(dir, 'temporal'))
    .find((candidate) => existsSync(candidate));
  if (onPath) return onPath;
  throw new PathgenError(
    'Misconfigured',
    'the Temporal CLI is not installed and no Temporal server answers: run infra/install-tools.sh (it puts temporal in .tools/bin)',
    { looked: [local, 'PATH'] },
  );
}

/** True when something accepts TCP connections at host:port. */
function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A client connection that has answered a health check as SERVING. */
async function connectTemporal(address: string, timeoutMs: number): Promise<Connection> {
  // Lazy, so that a failed first contact still leaves a connection to close: grpc-js would
  // otherwise keep redialling whatever listens there.
  const connection = Connection.lazy({ address, connectTimeout: timeoutMs });
  try {
    await connection.ensureConnected();
    const health = await connection.withDeadline(Date.now() + timeoutMs, () => connection.healthService.check({}));
    if (Number(health.status) !== serving) throw new Error(`health status ${String(health.status)}`);
    return connection;
  } catch (error) {
    await connection.close();
    throw error;
  }
}

async function waitUntilHealthy(
  address: string,
  timeoutMs: number,
  exited: Promise<number | null>,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  let last: unknown;
  while (Date.now() < deadline) {
    if (gone !== undefined) {
      throw new PathgenError(
        'ServiceUnavailable',
        `the Temporal dev server exited (code ${gone}) before it was ready: ${await logTail(logFile)}`,
        { address, logFile },
      );
    }
    try {
      const connection = await connectTemporal(address, 2000);
      await connection.close();
      return;
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new PathgenError(
    'ServiceUnavailable',
    `the Temporal dev server at ${address} was not ready after ${Math.round(timeoutMs / 1000)} s (${errorMessage(last)}); see ${logFile}`,
    { address, logFile },
  );
}

async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const lines = text.trim().split('\n');
  return lines.slice(-5).join(' | ') || '(empty log)';
}

/** Search attributes registered on the namespace, by name and type (for checks and doctor output). */
export async function listSearchAttributes(address: string): Promise<Record<string, string>> {
  const connection = await connectTemporal(address, 3000);
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    return Object.fromEntries(
      Object.entries(customAttributes ?? {}).map(([name, type]) => [
        name,
        indexedValueTypes[Number(type)] ?? String(type),
      ]),
    );
  } finally {
    await connection.close();
  }
}
