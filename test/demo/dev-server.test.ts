import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';
import { ensureTemporalDevServer, listSearchAttributes, type DevServer } from '../../workers/demo/dev-server.js';
import { pathgenSearchAttributes } from '../../workflows/search-attributes.js';
import { requireTool } from '../../infra/harness/installed-tools.js';

// A real dev server from the installed CLI, on free loopback ports, with its state in a temp dir.

let stateDir: string;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  requireTool('temporal');
  stateDir = await mkdtemp(path.join(tmpdir(), 'pathgen-dev-server-'));
});

afterAll(async () => {
  for (const stop of stops) await stop();
  await rm(stateDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function failure(promise: Promise<unknown>): Promise<PathgenError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PathgenError);
  return error as PathgenError;
}

describe('ensureTemporalDevServer', () => {
  it('starts a server with pathgen search attributes, finds it again, and stops only what it started', async () => {
    const port = await freePort();
    const uiPort = await freePort();
    const address = `127.0.0.1:${port}`;
    const logs: string[] = [];
    const server: DevServer = await ensureTemporalDevServer({ address, uiPort, stateDir, onLog: (l) => logs.push(l) });
    stops.push(() => server.stop());
    expect(server).toMatchObject({ address, uiUrl: `http://127.0.0.1:${uiPort}`, started: true });
    expect(logs.some((line) => line.includes('starting a Temporal dev server'))).toBe(true);
    expect(server.logFile).toBe(path.join(stateDir, 'logs', 'temporal.log'));
    expect((await stat(path.join(stateDir, 'temporal.db'))).size).toBeGreaterThan(0);
    expect(Number(await readFile(path.join(stateDir, 'pids', 'temporal.pid'), 'utf8'))).toBeGreaterThan(0);

    const attributes = await listSearchAttributes(address);
    for (const key of pathgenSearchAttributes) expect(attributes[key.name]).toBe('Keyword');

    const again = await ensureTemporalDevServer({ address, uiPort, stateDir });
    expect(again.started).toBe(false);
    await again.stop();
    expect(await listening(port)).toBe(true);

    await server.stop();
    expect(await listening(port)).toBe(false);
    await expect(stat(path.join(stateDir, 'pids', 'temporal.pid'))).rejects.toThrow();
  });

  it('registers the search attributes a running server lacks', async () => {
    const port = await freePort();
    const bare = spawn(
      requireTool('temporal'),
      ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => bare.once('exit', resolve));
    try {
      for (let i = 0; i < 120 && !(await listening(port)); i++) await new Promise((r) => setTimeout(r, 250));
      const address = `127.0.0.1:${port}`;
      const logs: string[] = [];
      const server = await ensureTemporalDevServer({ address, stateDir, onLog: (l) => logs.push(l) });
      expect(server.started).toBe(false);
      expect(logs[0]).toMatch(/^registered search attributes PathgenRunId, PathgenSlideId/);
      const attributes = await listSearchAttributes(address);
      for (const key of pathgenSearchAttributes) expect(attributes[key.name]).toBe('Keyword');
    } finally {
      bare.kill('SIGTERM');
      await exited;
    }
  });

  it('refuses an address where something else listens', async () => {
    const sockets = new Set<net.Socket>();
    const impostor = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const { port } = impostor.address() as net.AddressInfo;
    try {
      const error = await failure(ensureTemporalDevServer({ address: `127.0.0.1:${port}`, stateDir }));
      expect(error.code).toBe('Misconfigured');
      expect(error.message).toMatch(/not a Temporal server/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => impostor.close(resolve));
    }
  });

  it('says how to install the CLI when it is missing, and refuses a bad address', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const missing = await failure(
      ensureTemporalDevServer({ address, stateDir, temporalBinary: path.join(stateDir, 'no-such-temporal') }),
    );
    expect(missing.code).toBe('Misconfigured');
    expect(missing.message).toMatch(/infra\/install-tools\.sh/);
    expect((await failure(ensureTemporalDevServer({ address: 'localhost', stateDir }))).code).toBe('InvalidInput');
  });
});
