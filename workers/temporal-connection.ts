import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { PathgenError, errorMessage } from '../activities/common/errors.js';
import type { TemporalConfig } from './config/schema.js';

// Accepted by both the client's Connection and the worker's NativeConnection.
export type TemporalConnectionOptions = Pick<NativeConnectionOptions, 'address' | 'tls' | 'apiKey'>;

export type TlsElement = 'ca' | 'client cert' | 'client key' | 'server name' | 'api key';

export interface CertificateSummary {
  subject: string;
  issuer: string;
  validFrom: Date;
  validTo: Date;
}

/** What one TLS setting holds, or why it is unusable. Never carries the API key or key material. */
export interface TlsElementReport {
  element: TlsElement;
  /** The config path a person edits, e.g. `temporal.tls.clientKeyPath`. */
  setting: string;
  /** The file or environment variable the setting names. */
  source?: string;
  problem?: string;
  fix?: string;
  /** The CA file's certificates, or the client certificate file's (leaf first). */
  certificates?: CertificateSummary[];
}

export interface TemporalTlsInspection {
  reports: TlsElementReport[];
  serverRootCACertificate?: Buffer;
  clientCertPair?: { crt: Buffer; key: Buffer };
  apiKey?: string;
}

/** Connection options shared by the client (CLI, doctor) and the workers' native connection. */
export function temporalConnectionOptions(
  config: TemporalConfig,
  env: NodeJS.ProcessEnv = process.env,
  now: Date = new Date(),
): TemporalConnectionOptions {
  const inspection = inspectTemporalTls(config, env, now);
  const problems = inspection.reports.filter((report) => report.problem);
  if (problems.length > 0) {
    const lines = problems.map((p) => `${p.setting}${p.source ? ` (${p.source})` : ''}: ${p.problem}`);
    throw new PathgenError('Misconfigured', `Temporal connection settings are wrong: ${lines.join('; ')}`, {
      problems: problems.map(({ setting, source, problem, fix }) => ({ setting, source, problem, fix })),
    });
  }
  const { apiKey } = inspection;
  const tls =
    config.tls === false
      ? apiKey
        ? true // an API key is only ever sent over TLS; the system's roots verify the server
        : undefined
      : {
          serverNameOverride: config.tls.serverName,
          serverRootCACertificate: inspection.serverRootCACertificate,
          clientCertPair: inspection.clientCertPair,
        };
  return { address: config.address, ...(tls ? { tls } : {}), ...(apiKey ? { apiKey } : {}) };
}

/** Reads and checks every TLS file and the API key variable; every problem is reported, none thrown. */
export function inspectTemporalTls(
  config: TemporalConfig,
  env: NodeJS.ProcessEnv = process.env,
  now: Date = new Date(),
): TemporalTlsInspection {
  const inspection: TemporalTlsInspection = { reports: [] };
  const tls = config.tls;
  if (tls !== false) {
    if (tls.serverRootCaCertPath) {
      const ca = inspectCertificateFile('ca', 'temporal.tls.serverRootCaCertPath', tls.serverRootCaCertPath, now);
      inspection.reports.push(ca.report);
      if (!ca.report.problem) inspection.serverRootCACertificate = ca.bytes;
    } else {
      inspection.reports.push({ element: 'ca', setting: 'temporal.tls.serverRootCaCertPath' });
    }
    inspectClientPair(tls.clientCertPath, tls.clientKeyPath, now, inspection);
    if (tls.serverName !== undefined) inspection.reports.push(inspectServerName(tls.serverName));
  }
  if (config.apiKeyEnv) {
    const apiKey = env[config.apiKeyEnv];
    const report = inspectApiKey(config.apiKeyEnv, apiKey);
    inspection.reports.push(report);
    if (!report.problem) inspection.apiKey = apiKey;
  }
  return inspection;
}

function inspectClientPair(
  certPath: string | undefined,
  keyPath: string | undefined,
  now: Date,
  inspection: TemporalTlsInspection,
): void {
  if (!certPath && !keyPath) return;
  const cert = certPath
    ? inspectCertificateFile('client cert', 'temporal.tls.clientCertPath', certPath, now)
    : undefined;
  const key = keyPath ? readPrivateKey(keyPath) : undefined;
  const certReport: TlsElementReport = cert?.report ?? {
    element: 'client cert',
    setting: 'temporal.tls.clientCertPath',
    problem: 'missing: temporal.tls.clientKeyPath is set, and mTLS needs the certificate as well as its key',
    fix: 'set temporal.tls.clientCertPath (or PATHGEN_TEMPORAL_TLS_CLIENT_CERT) to the PEM certificate',
  };
  const keyReport: TlsElementReport = { element: 'client key', setting: 'temporal.tls.clientKeyPath' };
  if (!key) {
    keyReport.problem = 'missing: temporal.tls.clientCertPath is set, and mTLS needs the key as well';
    keyReport.fix = 'set temporal.tls.clientKeyPath (or PATHGEN_TEMPORAL_TLS_CLIENT_KEY) to the PEM private key';
  } else {
    keyReport.source = keyPath;
    if (!key.ok) Object.assign(keyReport, { problem: key.problem, fix: key.fix });
    else if (cert?.leaf && !cert.leaf.checkPrivateKey(key.key)) {
      keyReport.problem = `does not match the client certificate ${certPath} (${oneLine(cert.leaf.subject)})`;
      keyReport.fix = 'point clientCertPath and clientKeyPath at the certificate and the key issued together';
    }
  }
  inspection.reports.push(certReport, keyReport);
  if (cert?.bytes && key?.ok && !certReport.problem && !keyReport.problem) {
    inspection.clientCertPair = { crt: cert.bytes, key: key.bytes };
  }
}

interface CertificateFile {
  report: TlsElementReport;
  bytes?: Buffer;
  leaf?: X509Certificate;
}

const pemCertificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function inspectCertificateFile(
  element: 'ca' | 'client cert',
  setting: string,
  path: string,
  now: Date,
): CertificateFile {
  const report: TlsElementReport = { element, setting, source: path };
  const bytes = readFile(path);
  if (!bytes.ok)
    return { report: { ...report, problem: bytes.problem, fix: `make ${path} readable or fix ${setting}` } };
  const blocks = bytes.value.toString('latin1').match(pemCertificate) ?? [];
  if (blocks.length === 0) {
    const der = bytes.value[0] === 0x30;
    return {
      report: {
        ...report,
        problem: `not a PEM certificate (no -----BEGIN CERTIFICATE----- block${der ? '; it looks like DER' : ''})`,
        fix: der
          ? `convert it: openssl x509 -inform DER -in ${path} -out ${path}.pem`
          : `point ${setting} at the PEM certificate file`,
      },
    };
  }
  const certificates: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch (error) {
      const problem = `certificate ${index + 1} of ${blocks.length} cannot be parsed: ${errorMessage(error)}`;
      return { report: { ...report, problem, fix: `replace ${path} with an intact PEM certificate` } };
    }
  }
  report.certificates = certificates.map(summarize);
  const validity = certificates.map((certificate) => validityProblem(summarize(certificate), now));
  // A CA bundle works while one of its roots is valid; a client presents its first (leaf) certificate.
  const failing = element === 'ca' ? (validity.every(Boolean) ? validity[0] : undefined) : validity[0];
  if (failing) {
    report.problem = failing;
    report.fix =
      element === 'ca'
        ? `get the current CA certificate of the Temporal cluster into ${path}`
        : `issue a new client certificate (Temporal Cloud: upload its CA to the namespace) into ${path}`;
  }
  return { report, bytes: bytes.value, leaf: certificates[0] };
}

function validityProblem(certificate: CertificateSummary, now: Date): string | undefined {
  const name = oneLine(certificate.subject);
  if (now < certificate.validFrom) return `${name} is not valid yet: valid from ${certificate.validFrom.toISOString()}`;
  if (now > certificate.validTo) return `${name} expired on ${certificate.validTo.toISOString()}`;
  return undefined;
}

function readPrivateKey(
  path: string,
): { ok: true; key: KeyObject; bytes: Buffer } | { ok: false; problem: string; fix: string } {
  const bytes = readFile(path);
  if (!bytes.ok)
    return { ok: false, problem: bytes.problem, fix: `make ${path} readable or fix temporal.tls.clientKeyPath` };
  const text = bytes.value.toString('latin1');
  if (text.includes('ENCRYPTED')) {
    return {
      ok: false,
      problem: 'the key is encrypted with a passphrase, which Temporal connections cannot use',
      fix: `write an unencrypted copy: openssl pkey -in ${path} -out ${path}.plain.pem`,
    };
  }
  try {
    return { ok: true, key: createPrivateKey(bytes.value), bytes: bytes.value };
  } catch (error) {
    return {
      ok: false,
      problem: `not a PEM private key (${errorMessage(error)})`,
      fix: 'point temporal.tls.clientKeyPath at the private key issued with the client certificate',
    };
  }
}

function inspectServerName(serverName: string): TlsElementReport {
  const report: TlsElementReport = { element: 'server name', setting: 'temporal.tls.serverName', source: serverName };
  if (/[\s:/]/.test(serverName)) {
    report.problem = `${JSON.stringify(serverName)} is not a host name (no scheme, port or path)`;
    report.fix = 'set temporal.tls.serverName to the name in the server certificate, e.g. temporal.example.org';
  }
  return report;
}

function inspectApiKey(variable: string, apiKey: string | undefined): TlsElementReport {
  const report: TlsElementReport = { element: 'api key', setting: 'temporal.apiKeyEnv', source: variable };
  if (!apiKey) {
    report.problem = `temporal.apiKeyEnv names ${variable}, but that environment variable is empty`;
    report.fix = `export ${variable}=<your Temporal Cloud API key> where pathgen runs`;
  } else if (!/^[\x21-\x7e]+$/.test(apiKey)) {
    // A header value with a line break is refused by gRPC with the value in its message; we say it first.
    report.problem = `${variable} holds spaces, line breaks or non-ASCII characters, which an API key never has`;
    report.fix = `set ${variable} to the key alone (trim the trailing newline of a file read with $(cat …))`;
  }
  return report;
}

function readFile(path: string): { ok: true; value: Buffer } | { ok: false; problem: string } {
  try {
    return { ok: true, value: readFileSync(path) };
  } catch (error) {
    return { ok: false, problem: `cannot read ${path}: ${errorMessage(error)}` };
  }
}

function summarize(certificate: X509Certificate): CertificateSummary {
  return {
    subject: oneLine(certificate.subject),
    issuer: oneLine(certificate.issuer),
    validFrom: new Date(certificate.validFrom),
    validTo: new Date(certificate.validTo),
  };
}

function oneLine(distinguishedName: string): string {
  return distinguishedName.split('\n').join(', ');
}
