import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { getCookie, setCookie } from 'hono/cookie';
import type { MiddlewareHandler } from 'hono';

// Who may read and who may write. Bound to loopback without a token, only this machine can reach
// the app, but a web page from another origin can still make the browser send it requests: a Host
// check stops DNS rebinding, and every write needs the write token in a header, which a form or a
// cross-origin page cannot set. With a token (required off loopback), every request must carry it:
// a header, or the cookie that `?token=` sets once so links and images work in a browser.

export const tokenHeader = 'x-pathgen-token';
export const tokenCookie = 'pathgen_review_token';
const safeMethods = new Set(['GET', 'HEAD']);
const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export interface AccessOptions {
  /** PATHGEN_REVIEW_TOKEN: when set, required on every request. */
  token?: string;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
const same = (given: string | undefined, expected: string): boolean =>
  given !== undefined && timingSafeEqual(digest(given), digest(expected));

function hostName(hostHeader: string | undefined): string {
  const host = (hostHeader ?? '').toLowerCase();
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
}

function bearer(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  return match?.[1]?.trim();
}

/** The token writes need: the configured one, or one made per process and given only to the app's own pages. */
export function writeTokenFor(options: AccessOptions): string {
  return options.token ?? randomBytes(24).toString('base64url');
}

export function accessGuard(options: AccessOptions, writeToken: string): MiddlewareHandler {
  const { token } = options;
  return async (c, next) => {
    if (token === undefined && !loopbackHosts.has(hostName(c.req.header('host')))) {
      return c.text('this review app answers only to localhost; set PATHGEN_REVIEW_TOKEN to serve other hosts', 403);
    }
    const headerToken = c.req.header(tokenHeader) ?? bearer(c.req.header('authorization'));
    if (token !== undefined) {
      const queryToken = c.req.query('token');
      if (safeMethods.has(c.req.method) && same(queryToken, token)) {
        setCookie(c, tokenCookie, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
        const url = new URL(c.req.url);
        url.searchParams.delete('token');
        return c.redirect(`${url.pathname}${url.search}`, 303);
      }
      if (!same(headerToken, token) && !same(getCookie(c, tokenCookie), token)) {
        return c.text('a review token is required: send it in the x-pathgen-token header or open ?token=…', 401);
      }
    }
    if (!safeMethods.has(c.req.method) && !same(headerToken, writeToken)) {
      return c.text(`writes need the review token in the ${tokenHeader} header`, 403);
    }
    await next();
  };
}
