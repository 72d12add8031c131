import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Real certificates made with the openssl CLI, the way an operator makes them: a CA, a server
// certificate with SANs, client certificates it signs (current, expired, not yet valid, ending
// soon), a key that matches none of them. EC P-256 keeps generation to milliseconds.

export interface TestCertificates {
  dir: string;
  caCert: string;
  caKey: string;
  /** SANs: DNS:temporal.pathgen.test, DNS:localhost, IP:127.0.0.1. */
  serverCert: string;
  serverKey: string;
  serverName: string;
  clientCert: string;
  clientKey: string;
  clientSubject: string;
  /** Same key as clientCert, valid in January 2020 only. */
  expiredClientCert: string;
  /** Same key as clientCert, valid only in 2099. */
  futureClientCert: string;
  /** Same key as clientCert, valid for 5 days. */
  endingSoonClientCert: string;
  /** A key that belongs to no certificate here. */
  otherKey: string;
  /** The CA certificate in DER, not PEM. */
  caCertDer: string;
}

export function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestCertificates(dir: string): TestCertificates {
  mkdirSync(join(dir, 'db'), { recursive: true });
  writeFileSync(join(dir, 'db/index.txt'), '');
  writeFileSync(join(dir, 'db/serial'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), caConfig);
  writeFileSync(join(dir, 'server.ext'), serverExtensions);
  writeFileSync(join(dir, 'client.ext'), clientExtensions);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '30',
      '-subj',
      '/O=pathgen/CN=pathgen test CA',
    ].concat(['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
    dir,
  );
  openssl(['x509', '-in', 'ca.pem', '-outform', 'DER', '-out', 'ca.der'], dir);
  const serverName = 'temporal.pathgen.test';
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${serverName}`], dir);
  signWithX509('server.csr', 'server.pem', 'server.ext', '30', dir);
  openssl(['req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/O=pathgen/CN=pathgen-worker'], dir);
  signWithX509('client.csr', 'client.pem', 'client.ext', '30', dir);
  signWithX509('client.csr', 'client-ending-soon.pem', 'client.ext', '5', dir);
  signWithCa('client.csr', 'client-expired.pem', '20200101000000Z', '20200201000000Z', dir);
  signWithCa('client.csr', 'client-future.pem', '20990101000000Z', '20991231000000Z', dir);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other.key'], dir);
  const at = (name: string) => join(dir, name);
  return {
    dir,
    caCert: at('ca.pem'),
    caKey: at('ca.key'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    serverName,
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    clientSubject: 'O=pathgen, CN=pathgen-worker',
    expiredClientCert: at('client-expired.pem'),
    futureClientCert: at('client-future.pem'),
    endingSoonClientCert: at('client-ending-soon.pem'),
    otherKey: at('other.key'),
    caCertDer: at('ca.der'),
  };
}

function signWithX509(csr: string, out: string, extensions: string, days: string, dir: string): void {
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      out,
      '-days',
      days,
    ].concat(['-extfile', extensions]),
    dir,
  );
}

/** `openssl ca` is the one OpenSSL 3.0 command that takes explicit start and end dates. */
function signWithCa(csr: string, out: string, start: string, end: string, dir: string): void {
  openssl(
    [
      'ca',
      '-batch',
      '-notext',
      '-config',
      'ca.cnf',
      '-cert',
      'ca.pem',
      '-keyfile',
      'ca.key',
      '-in',
      csr,
      '-out',
      out,
    ].concat(['-startdate', start, '-enddate', end, '-extfile', 'client.ext']),
    dir,
  );
}

const caConfig = `[ ca ]
default_ca = test_ca
[ test_ca ]
database = db/index.txt
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = any
unique_subject = no
[ any ]
organizationName = optional
commonName = supplied
`;

const serverExtensions = `basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:temporal.pathgen.test, DNS:localhost, IP:127.0.0.1
`;

const clientExtensions = `basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
`;
