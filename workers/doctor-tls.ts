import type { PathgenConfig } from './config/schema.js';
import type { DoctorCheck } from './doctor-check.js';
import { inspectTemporalTls } from './temporal-connection.js';
import type { CertificateSummary, TlsElement, TlsElementReport } from './temporal-connection.js';

/** Certificates closer to their end than this are a warning: time to renew before workers stop connecting. */
export const expiryWarningDays = 14;

const checkNames: Record<TlsElement, string> = {
  ca: 'temporal tls ca',
  'client cert': 'temporal tls client cert',
  'client key': 'temporal tls client key',
  'server name': 'temporal tls server name',
  'api key': 'temporal api key',
};

/**
 * One line per TLS element of the Temporal connection: the CA, the client certificate and key, the
 * server name and the API key. Empty for a plaintext connection without an API key. The API key's
 * value never appears; the variable's name does.
 */
export function checkTemporalTls(
  config: PathgenConfig,
  env: NodeJS.ProcessEnv = process.env,
  now: Date = new Date(),
): DoctorCheck[] {
  return inspectTemporalTls(config.temporal, env, now).reports.map((report) => toCheck(report, config, now));
}

function toCheck(report: TlsElementReport, config: PathgenConfig, now: Date): DoctorCheck {
  const check = checkNames[report.element];
  if (report.problem) {
    const where = report.source && !report.problem.includes(report.source) ? `${report.source}: ` : '';
    return { check, status: 'fail', detail: where + report.problem, ...(report.fix ? { fix: report.fix } : {}) };
  }
  switch (report.element) {
    case 'ca':
      return report.certificates ? certificateCheck(check, report, now) : systemRoots(check);
    case 'client cert':
      return certificateCheck(check, report, now);
    case 'client key':
      return { check, status: 'ok', detail: `${report.source}: matches the client certificate` };
    case 'server name':
      return {
        check,
        status: 'ok',
        detail: `${report.source}: sent as SNI and checked against the server certificate instead of the host in ${config.temporal.address}`,
      };
    case 'api key':
      return {
        check,
        status: 'ok',
        detail: `read from $${report.source}, sent as a bearer token over TLS${config.temporal.tls === false ? ' (TLS on, the system roots verify the server)' : ''}`,
      };
  }
}

function systemRoots(check: string): DoctorCheck {
  return {
    check,
    status: 'ok',
    detail: "not set: the system's root certificates verify the server (right for Temporal Cloud)",
  };
}

/** The CA bundle's soonest-ending valid root, or the client file's leaf, with its days left. */
function certificateCheck(check: string, report: TlsElementReport, now: Date): DoctorCheck {
  const certificates = report.certificates ?? [];
  const current = certificates.filter((c) => c.validFrom <= now && now <= c.validTo);
  const shown = report.element === 'ca' ? soonestEnding(current) : certificates[0];
  if (!shown) return { check, status: 'fail', detail: `${report.source}: no certificate` };
  const daysLeft = Math.floor((shown.validTo.getTime() - now.getTime()) / 86_400_000);
  const others = certificates.length > 1 ? ` (+${certificates.length - 1} more in the file)` : '';
  const expiredInBundle = report.element === 'ca' ? certificates.length - current.length : 0;
  const detail =
    `${report.source}: ${shown.subject}, issued by ${shown.issuer}, valid until ` +
    `${shown.validTo.toISOString().slice(0, 10)} (${daysLeft} days left)${others}` +
    (expiredInBundle > 0 ? `; ${expiredInBundle} expired or not yet valid certificate(s) in the file` : '');
  if (daysLeft < expiryWarningDays) {
    return {
      check,
      status: 'warn',
      detail,
      fix:
        report.element === 'ca'
          ? `get the cluster's new CA certificate into ${report.source} before it expires`
          : `issue a new client certificate into ${report.source} before it expires`,
    };
  }
  return { check, status: 'ok', detail };
}

function soonestEnding(certificates: readonly CertificateSummary[]): CertificateSummary | undefined {
  return [...certificates].sort((a, b) => a.validTo.getTime() - b.validTo.getTime())[0];
}
