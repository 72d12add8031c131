import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { PathgenError } from '../../activities/common/errors.js';

// Serving the app: loopback by default; any other address only with a token, because then anyone
// on the network can reach it.

const loopback = new Set(['127.0.0.1', 'localhost', '::1']);

export function assertSafeBinding(host: string, token: string | undefined): void {
  if (!loopback.has(host) && !token) {
    throw new PathgenError(
      'Misconfigured',
      `pathgen review binds ${host} only with a token: set PATHGEN_REVIEW_TOKEN (or use --host 127.0.0.1)`,
      { host },
    );
  }
}

export interface ReviewServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startReviewServer(app: Hono, host: string, port: number, token?: string): Promise<ReviewServer> {
  assertSafeBinding(host, token);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${info.port}`,
        port: info.port,
        close: () => new Promise<void>((done, fail) => server.close((error) => (error ? fail(error) : done()))),
      });
    });
    server.once('error', reject);
  });
}
