import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../workers/config/load-config.js';
import type { PathgenConfig } from '../../workers/config/schema.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { formatChecks, runDoctor } from '../../workers/doctor.js';
import type { DoctorCheck } from '../../workers/doctor.js';
import { checkTemporalTls, expiryWarningDays } from '../../workers/doctor-tls.js';
import { makeTestCertificates } from '../helpers/test-certificates.js';
import type { TestCertificates } from '../helpers/test-certificates.js';

const apiKey = 'pgk-doctor-0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d';
let dir: string;
let certs: TestCertificates;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pathgen-doctor-tls-'));
  certs = makeTestCertificates(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(temporal: Record<string, unknown>): PathgenConfig {
  const loaded = loadConfig({ env: {}, overrides: { temporal } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  return loaded.config;
}

/** Typed as doctor.ts's own checks: the lines must drop into its table unchanged. */
function check(temporal: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): DoctorCheck[] {
  return checkTemporalTls(config(temporal), env);
}

function line(checks: readonly DoctorCheck[], name: string): DoctorCheck {
  const found = checks.find((c) => c.check === name);
  if (!found) throw new Error(`no check ${name} in ${checks.map((c) => c.check).join(', ')}`);
  return found;
}

describe('checkTemporalTls', () => {
  it('has nothing to say about a plaintext connection without an API key', () => {
    expect(check({ tls: false })).toEqual([]);
  });

  it('shows each element of a healthy mTLS set-up with subject, expiry and days left', () => {
    const checks = check({
      tls: {
        serverName: certs.serverName,
        serverRootCaCertPath: certs.caCert,
        clientCertPath: certs.clientCert,
        clientKeyPath: certs.clientKey,
      },
    });
    expect(checks.map((c) => [c.check, c.status])).toEqual([
      ['temporal tls ca', 'ok'],
      ['temporal tls client cert', 'ok'],
      ['temporal tls client key', 'ok'],
      ['temporal tls server name', 'ok'],
    ]);
    expect(line(checks, 'temporal tls ca').detail).toMatch(
      /O=pathgen, CN=pathgen test CA.*valid until \d{4}-\d\d-\d\d \((29|30) days left\)/,
    );
    expect(line(checks, 'temporal tls client cert').detail).toContain(`${certs.clientCert}: ${certs.clientSubject}`);
    expect(line(checks, 'temporal tls client cert').detail).toContain('issued by O=pathgen, CN=pathgen test CA');
    expect(line(checks, 'temporal tls client key').detail).toContain('matches the client certificate');
    expect(line(checks, 'temporal tls server name').detail).toContain(certs.serverName);
  });

  it(`warns about a certificate with less than ${expiryWarningDays} days left`, () => {
    const checks = check({ tls: { clientCertPath: certs.endingSoonClientCert, clientKeyPath: certs.clientKey } });
    const cert = line(checks, 'temporal tls client cert');
    expect(cert.status).toBe('warn');
    expect(cert.detail).toMatch(/\((4|5) days left\)/);
    expect(cert.fix).toContain('before it expires');
    expect(line(checks, 'temporal tls client key').status).toBe('ok');
  });

  it('says which element is wrong and how to fix it', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ serverRootCaCertPath: join(dir, 'absent.pem') }, 'temporal tls ca', /cannot read .*absent\.pem.*ENOENT/],
      [{ serverRootCaCertPath: certs.caCertDer }, 'temporal tls ca', /not a PEM certificate/],
      [
        { clientCertPath: certs.expiredClientCert, clientKeyPath: certs.clientKey },
        'temporal tls client cert',
        /expired on 2020-02-01/,
      ],
      [
        { clientCertPath: certs.futureClientCert, clientKeyPath: certs.clientKey },
        'temporal tls client cert',
        /not valid yet/,
      ],
      [
        { clientCertPath: certs.clientCert, clientKeyPath: certs.otherKey },
        'temporal tls client key',
        /does not match/,
      ],
      [{ clientCertPath: certs.clientCert }, 'temporal tls client key', /missing/],
      [{ clientKeyPath: certs.clientKey }, 'temporal tls client cert', /missing/],
    ];
    for (const [tls, name, reason] of cases) {
      const found = line(check({ tls }), name);
      expect(found.status, name).toBe('fail');
      expect(found.detail).toMatch(reason);
      expect(found.fix?.length ?? 0).toBeGreaterThan(10);
    }
  });

  it('names the file on every failing line', () => {
    const checks = check({
      tls: {
        serverRootCaCertPath: certs.caCertDer,
        clientCertPath: certs.expiredClientCert,
        clientKeyPath: certs.otherKey,
      },
    });
    expect(line(checks, 'temporal tls ca').detail.startsWith(`${certs.caCertDer}: `)).toBe(true);
    expect(line(checks, 'temporal tls client cert').detail.startsWith(`${certs.expiredClientCert}: `)).toBe(true);
    expect(line(checks, 'temporal tls client key').detail.startsWith(`${certs.otherKey}: `)).toBe(true);
  });

  it('fails only the broken element and leaves the others ok', () => {
    const checks = check({
      tls: { serverRootCaCertPath: certs.caCert, clientCertPath: certs.clientCert, clientKeyPath: certs.otherKey },
    });
    expect(checks.map((c) => [c.check, c.status])).toEqual([
      ['temporal tls ca', 'ok'],
      ['temporal tls client cert', 'ok'],
      ['temporal tls client key', 'fail'],
    ]);
  });

  it('explains the system roots when TLS has no CA file', () => {
    const ca = line(check({ tls: {} }), 'temporal tls ca');
    expect(ca.status).toBe('ok');
    expect(ca.detail).toContain("system's root certificates");
  });

  it('checks the API key by its variable and never prints the key', () => {
    const good = check({ tls: false, apiKeyEnv: 'TEMPORAL_API_KEY' }, { TEMPORAL_API_KEY: apiKey });
    expect(good).toEqual([
      {
        check: 'temporal api key',
        status: 'ok',
        detail:
          'read from $TEMPORAL_API_KEY, sent as a bearer token over TLS (TLS on, the system roots verify the server)',
      },
    ]);
    const unset = line(check({ apiKeyEnv: 'TEMPORAL_API_KEY' }), 'temporal api key');
    expect(unset.status).toBe('fail');
    expect(unset.detail).toContain('TEMPORAL_API_KEY');
    expect(unset.fix).toContain('export TEMPORAL_API_KEY=');
    const padded = check({ apiKeyEnv: 'TEMPORAL_API_KEY' }, { TEMPORAL_API_KEY: `${apiKey}\n` });
    expect(line(padded, 'temporal api key').status).toBe('fail');
    for (const output of [formatChecks(good), formatChecks(padded), JSON.stringify([good, padded])]) {
      expect(output).toContain('temporal api key');
      expect(output).not.toContain(apiKey);
    }
  });
});

describe('pathgen doctor with wrong TLS settings', () => {
  it('names the wrong element and does not try to connect with it', async () => {
    const broken = config({
      address: '127.0.0.1:1',
      tls: {
        serverRootCaCertPath: certs.caCert,
        clientCertPath: certs.expiredClientCert,
        clientKeyPath: certs.clientKey,
      },
    });
    const checks = await runDoctor({
      config: broken,
      store: new FsObjectStore({ root: join(dir, 'store') }),
      roles: ['gpu'],
    });
    expect(line(checks, 'temporal tls client cert')).toMatchObject({ status: 'fail' });
    expect(line(checks, 'temporal tls client cert').detail).toMatch(/expired/);
    expect(line(checks, 'temporal')).toEqual({
      check: 'temporal',
      status: 'skip',
      detail: 'not tried: the TLS settings above are wrong',
    });
    expect(line(checks, 'queue gpu').status).toBe('skip');
    expect(line(checks, 'store').status).toBe('ok');
  });
});
