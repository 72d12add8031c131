import { Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { LogEntry } from '@temporalio/worker';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isPathgenError } from '../../activities/common/errors.js';
import { loadConfig } from '../../workers/config/load-config.js';
import type { TemporalConfig } from '../../workers/config/schema.js';
import { temporalConnectionOptions } from '../../workers/temporal-connection.js';
import { makeTestCertificates } from '../helpers/test-certificates.js';
import type { TestCertificates } from '../helpers/test-certificates.js';
import { startTlsProbeServer } from '../helpers/tls-probe-server.js';

// The worker's native connection logs through the runtime: everything, the gRPC, HTTP/2 and TLS
// crates included, at the most talkative level, is kept here so a test can prove the API key never
// reaches a log line (and nothing reaches the console).
const runtimeLogs: LogEntry[] = [];
Runtime.install({
  logger: new DefaultLogger('TRACE', (entry) => runtimeLogs.push(entry)),
  telemetryOptions: { logging: { filter: { core: 'TRACE', other: 'TRACE' }, forward: {} } },
});

const apiKey = 'pgk-test-6f1d0c9e2b7a4e38a5c1d2e3f4a5b6c7';
let dir: string;
let certs: TestCertificates;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pathgen-tls-'));
  certs = makeTestCertificates(dir);
  writeFileSync(join(dir, 'garbage.pem'), 'this is not a certificate\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function temporal(tls: TemporalConfig['tls'], apiKeyEnv?: string): TemporalConfig {
  return { address: 'temporal.pathgen.test:7233', namespace: 'default', tls, ...(apiKeyEnv ? { apiKeyEnv } : {}) };
}

function misconfiguration(run: () => unknown): { message: string; details: Readonly<Record<string, unknown>> } {
  try {
    run();
  } catch (error) {
    if (isPathgenError(error) && error.code === 'Misconfigured')
      return { message: error.message, details: error.details };
    throw error;
  }
  throw new Error('expected a Misconfigured PathgenError');
}

/** Everything an error carries that a log line or a terminal could show. */
function everythingIn(error: unknown): string {
  return `${String(error)}\n${inspect(error, { depth: 10 })}\n${JSON.stringify(error)}`;
}

describe('temporalConnectionOptions', () => {
  it('builds a plaintext connection for the dev server', () => {
    expect(temporalConnectionOptions(temporal(false), {})).toEqual({ address: 'temporal.pathgen.test:7233' });
  });

  it('reads the CA, the client certificate pair and the server name from their files', () => {
    const options = temporalConnectionOptions(
      temporal({
        serverName: certs.serverName,
        serverRootCaCertPath: certs.caCert,
        clientCertPath: certs.clientCert,
        clientKeyPath: certs.clientKey,
      }),
      {},
    );
    expect(options.apiKey).toBeUndefined();
    expect(options.tls).toEqual({
      serverNameOverride: certs.serverName,
      serverRootCACertificate: readFileSync(certs.caCert),
      clientCertPair: { crt: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) },
    });
  });

  it('takes the API key from the named variable and turns TLS on for it', () => {
    expect(temporalConnectionOptions(temporal(false, 'TEMPORAL_API_KEY'), { TEMPORAL_API_KEY: apiKey })).toEqual({
      address: 'temporal.pathgen.test:7233',
      tls: true,
      apiKey,
    });
    const withCa = temporalConnectionOptions(temporal({ serverRootCaCertPath: certs.caCert }, 'KEY'), { KEY: apiKey });
    expect(withCa.apiKey).toBe(apiKey);
    expect(withCa.tls).toMatchObject({ serverRootCACertificate: readFileSync(certs.caCert) });
  });

  it('takes every TLS setting and the API key variable from PATHGEN_TEMPORAL_* variables', () => {
    const loaded = loadConfig({
      env: {
        PATHGEN_TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
        PATHGEN_TEMPORAL_TLS_SERVER_NAME: certs.serverName,
        PATHGEN_TEMPORAL_TLS_CA_CERT: certs.caCert,
        PATHGEN_TEMPORAL_TLS_CLIENT_CERT: certs.clientCert,
        PATHGEN_TEMPORAL_TLS_CLIENT_KEY: certs.clientKey,
        PATHGEN_TEMPORAL_API_KEY_ENV: 'MY_TEMPORAL_KEY',
      },
    });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(loaded.config.temporal).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      namespace: 'default',
      tls: {
        serverName: certs.serverName,
        serverRootCaCertPath: certs.caCert,
        clientCertPath: certs.clientCert,
        clientKeyPath: certs.clientKey,
      },
      apiKeyEnv: 'MY_TEMPORAL_KEY',
    });
    const options = temporalConnectionOptions(loaded.config.temporal, { MY_TEMPORAL_KEY: apiKey });
    expect(options.apiKey).toBe(apiKey);
    expect(options.tls).toMatchObject({ clientCertPair: { crt: readFileSync(certs.clientCert) } });
  });

  it('names the setting, the file and the reason for each kind of wrong TLS file', () => {
    const missing = join(dir, 'missing-ca.pem');
    const cases: [TemporalConfig['tls'], string[]][] = [
      [{ serverRootCaCertPath: missing }, ['temporal.tls.serverRootCaCertPath', missing, 'cannot read', 'ENOENT']],
      [{ serverRootCaCertPath: certs.caCertDer }, ['serverRootCaCertPath', 'not a PEM certificate', 'DER']],
      [{ serverRootCaCertPath: join(dir, 'garbage.pem') }, ['serverRootCaCertPath', 'not a PEM certificate']],
      [{ clientCertPath: certs.clientCert }, ['temporal.tls.clientKeyPath', 'missing']],
      [{ clientKeyPath: certs.clientKey }, ['temporal.tls.clientCertPath', 'missing']],
      [
        { clientCertPath: certs.clientCert, clientKeyPath: certs.otherKey },
        ['temporal.tls.clientKeyPath', certs.otherKey, 'does not match the client certificate', 'CN=pathgen-worker'],
      ],
      [
        { clientCertPath: certs.expiredClientCert, clientKeyPath: certs.clientKey },
        ['temporal.tls.clientCertPath', certs.expiredClientCert, 'expired on 2020-02-01'],
      ],
      [
        { clientCertPath: certs.futureClientCert, clientKeyPath: certs.clientKey },
        ['temporal.tls.clientCertPath', 'not valid yet', '2099-01-01'],
      ],
      [
        { clientCertPath: certs.clientCert, clientKeyPath: certs.clientCert },
        ['temporal.tls.clientKeyPath', 'not a PEM private key'],
      ],
      [{ serverName: 'https://temporal.pathgen.test:7233' }, ['temporal.tls.serverName', 'not a host name']],
    ];
    for (const [tls, expected] of cases) {
      const { message } = misconfiguration(() => temporalConnectionOptions(temporal(tls), {}));
      for (const part of expected) expect(message, JSON.stringify(tls)).toContain(part);
    }
  });

  it('reports every wrong setting at once, each with its fix', () => {
    const { message, details } = misconfiguration(() =>
      temporalConnectionOptions(
        temporal({ serverRootCaCertPath: join(dir, 'nope.pem'), clientCertPath: certs.clientCert }, 'UNSET_KEY'),
        {},
      ),
    );
    expect(message).toContain('serverRootCaCertPath');
    expect(message).toContain('clientKeyPath');
    expect(message).toContain('UNSET_KEY');
    const problems = details.problems as { setting: string; fix: string }[];
    expect(problems.map((p) => p.setting)).toEqual([
      'temporal.tls.serverRootCaCertPath',
      'temporal.tls.clientKeyPath',
      'temporal.apiKeyEnv',
    ]);
    for (const problem of problems) expect(problem.fix.length).toBeGreaterThan(10);
  });

  it('refuses an empty or malformed API key without ever showing it', () => {
    const empty = misconfiguration(() => temporalConnectionOptions(temporal(false, 'TEMPORAL_API_KEY'), {}));
    expect(empty.message).toContain('TEMPORAL_API_KEY');
    expect(empty.message).toContain('empty');
    for (const malformed of [`${apiKey}\n`, ` ${apiKey}`, `${apiKey.slice(0, 10)} ${apiKey.slice(10)}`]) {
      let thrown: unknown;
      try {
        temporalConnectionOptions(temporal(false, 'TEMPORAL_API_KEY'), { TEMPORAL_API_KEY: malformed });
      } catch (error) {
        thrown = error;
      }
      expect(isPathgenError(thrown) && thrown.code).toBe('Misconfigured');
      expect(everythingIn(thrown)).toContain('line breaks');
      expect(everythingIn(thrown)).not.toContain(apiKey.slice(0, 10));
    }
  });
});

describe('a TLS handshake with the options built', () => {
  it("presents the client certificate and the server name to an mTLS endpoint (the client's Connection)", async () => {
    const server = await startTlsProbeServer({
      cert: readFileSync(certs.serverCert),
      key: readFileSync(certs.serverKey),
      clientCa: readFileSync(certs.caCert),
    });
    try {
      const options = temporalConnectionOptions(
        {
          ...temporal({
            serverName: certs.serverName,
            serverRootCaCertPath: certs.caCert,
            clientCertPath: certs.clientCert,
            clientKeyPath: certs.clientKey,
          }),
          address: server.address,
        },
        {},
      );
      let failure: unknown;
      await Connection.connect({ ...options, connectTimeout: '5s' }).catch((error: unknown) => (failure = error));
      // The handshake succeeded: the call reached the server and came back with its answer.
      expect(everythingIn(failure)).toContain('tls probe server');
      expect(server.handshakes[0]).toEqual({ servername: certs.serverName, clientSubject: certs.clientSubject });
      expect(server.requests[0]?.path).toBe('/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo');
      expect(server.requests[0]?.headers.authorization).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('sends the API key as a bearer token, and a failed connection does not show it', async () => {
    const server = await startTlsProbeServer({
      cert: readFileSync(certs.serverCert),
      key: readFileSync(certs.serverKey),
    });
    try {
      const config = {
        ...temporal({ serverName: certs.serverName, serverRootCaCertPath: certs.caCert }, 'TEMPORAL_API_KEY'),
        address: server.address,
      };
      const options = temporalConnectionOptions(config, { TEMPORAL_API_KEY: apiKey });
      let failure: unknown;
      await Connection.connect({ ...options, connectTimeout: '5s' }).catch((error: unknown) => (failure = error));
      expect(everythingIn(failure)).toContain('tls probe server');
      expect(everythingIn(failure)).not.toContain(apiKey);
      expect(server.handshakes[0]).toEqual({ servername: certs.serverName, clientSubject: undefined });
      expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${apiKey}`);
    } finally {
      await server.close();
    }
  });

  it("does the same through the worker's NativeConnection, logging nothing of the key", async () => {
    const tlsFiles = {
      serverName: certs.serverName,
      serverRootCaCertPath: certs.caCert,
      clientCertPath: certs.clientCert,
      clientKeyPath: certs.clientKey,
    };
    const endpoint = {
      cert: readFileSync(certs.serverCert),
      key: readFileSync(certs.serverKey),
      clientCa: readFileSync(certs.caCert),
    };
    const answering = await startTlsProbeServer({ ...endpoint, answer: 'empty' });
    const denying = await startTlsProbeServer(endpoint);
    const env = { TEMPORAL_API_KEY: apiKey };
    try {
      // An open connection keeps the runtime, and with it the log forwarding, alive.
      const open = await NativeConnection.connect(
        temporalConnectionOptions({ ...temporal(tlsFiles, 'TEMPORAL_API_KEY'), address: answering.address }, env),
      );
      try {
        expect(answering.handshakes[0]).toEqual({ servername: certs.serverName, clientSubject: certs.clientSubject });
        expect(answering.requests[0]?.headers.authorization).toBe(`Bearer ${apiKey}`);
        let failure: unknown;
        await NativeConnection.connect(
          temporalConnectionOptions({ ...temporal(tlsFiles, 'TEMPORAL_API_KEY'), address: denying.address }, env),
        ).then(
          (connection) => connection.close(),
          (error: unknown) => (failure = error),
        );
        expect(everythingIn(failure)).toContain('tls probe server');
        expect(everythingIn(failure)).not.toContain(apiKey);
        expect(denying.requests[0]?.headers.authorization).toBe(`Bearer ${apiKey}`);
        // The native side hands its logs over on a timer: wait until both connections' lines are in.
        const connectedTo = (address: string) =>
          runtimeLogs.some((entry) => entry.message === `connected to ${address}`);
        await vi.waitFor(() => expect(connectedTo(answering.address) && connectedTo(denying.address)).toBe(true), {
          timeout: 20_000,
        });
        expect(runtimeLogs.filter((entry) => inspect(entry, { depth: 10 }).includes(apiKey))).toEqual([]);
      } finally {
        await open.close();
      }
    } finally {
      await Promise.all([answering.close(), denying.close()]);
    }
  });
});
