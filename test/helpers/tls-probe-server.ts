import { createSecureServer } from 'node:http2';
import type { IncomingHttpHeaders, Http2SecureServer, ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

// A stand-in for a Temporal frontend's TLS endpoint: an HTTP/2 server that completes the TLS
// handshake (demanding a client certificate signed by `ca` when given), records what each client
// showed (SNI name, client certificate subject, request headers), and answers every gRPC call with
// PERMISSION_DENIED, so a client fails fast once it has shown everything, or with an empty message
// (an empty GetSystemInfoResponse), so a connection stays open.

export interface ProbeObservation {
  servername: string | undefined;
  /** `O=…, CN=…` of the client certificate, or undefined without one. */
  clientSubject: string | undefined;
}

export interface TlsProbeServer {
  address: string;
  handshakes: ProbeObservation[];
  requests: { path: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

export interface TlsProbeOptions {
  cert: Buffer;
  key: Buffer;
  /** CA for client certificates: with it the server requires one and rejects any it did not sign. */
  clientCa?: Buffer;
  answer?: 'denied' | 'empty';
}

export async function startTlsProbeServer(options: TlsProbeOptions): Promise<TlsProbeServer> {
  const mutualTls = options.clientCa !== undefined;
  const server: Http2SecureServer = createSecureServer({
    cert: options.cert,
    key: options.key,
    ...(mutualTls ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    allowHTTP1: false,
  });
  const handshakes: ProbeObservation[] = [];
  const requests: TlsProbeServer['requests'] = [];
  server.on('secureConnection', (socket: TLSSocket) => {
    const peer = socket.getPeerCertificate();
    const subject = peer && 'subject' in peer && peer.subject ? peer.subject : undefined;
    handshakes.push({
      servername: typeof socket.servername === 'string' ? socket.servername : undefined,
      clientSubject: subject
        ? Object.entries(subject)
            .map(([field, value]) => `${field}=${String(value)}`)
            .join(', ')
        : undefined,
    });
  });
  server.on('stream', (stream, headers) => {
    requests.push({ path: String(headers[':path']), headers });
    if (options.answer === 'empty') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.alloc(5)); // one uncompressed message of 0 bytes
      return;
    }
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7', 'grpc-message': 'tls probe server' },
      { endStream: true },
    );
  });
  // A client that gives up mid-handshake is expected here; nothing to report.
  server.on('tlsClientError', () => undefined);
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    handshakes,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}
