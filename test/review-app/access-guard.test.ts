import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FsObjectStore } from '../../activities/store/fs-store.js';
import { assertSafeBinding, createReviewApp, tokenHeader } from '../../workers/review-app/index.js';
import { fixtureRunId, writeReviewFixtureRun } from '../helpers/review-fixture-run.js';

let store: FsObjectStore;
let root: string;
beforeAll(async () => ({ store, root } = await writeReviewFixtureRun()));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('the review app’s access rules', () => {
  it('refuses to bind beyond loopback without a token', () => {
    expect(() => assertSafeBinding('0.0.0.0', undefined)).toThrow(/PATHGEN_REVIEW_TOKEN/);
    expect(() => assertSafeBinding('0.0.0.0', 's3cret')).not.toThrow();
    expect(() => assertSafeBinding('127.0.0.1', undefined)).not.toThrow();
  });

  it('without a token answers only to localhost Host headers (no DNS rebinding)', async () => {
    const app = createReviewApp({ store });
    expect((await app.request('/', { headers: { host: 'localhost:8787' } })).status).toBe(200);
    expect((await app.request('/', { headers: { host: 'evil.example:8787' } })).status).toBe(403);
  });

  it('refuses a write without the token header (403), even from localhost', async () => {
    const app = createReviewApp({ store });
    const response = await app.request(`/runs/${fixtureRunId}`, { method: 'POST', headers: { host: '127.0.0.1' } });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain(tokenHeader);
  });

  it('with a token, answers 401 without it and accepts the header, the bearer and the ?token= cookie', async () => {
    const app = createReviewApp({ store, token: 's3cret' });
    const host = { host: 'review.lab:8787' };
    expect((await app.request('/', { headers: host })).status).toBe(401);
    expect((await app.request('/media/runs/fx-run/slides/colon-1/thumbnail.png', { headers: host })).status).toBe(401);
    expect((await app.request('/', { headers: { ...host, [tokenHeader]: 'wrong' } })).status).toBe(401);
    expect((await app.request('/', { headers: { ...host, [tokenHeader]: 's3cret' } })).status).toBe(200);
    expect((await app.request('/', { headers: { ...host, authorization: 'Bearer s3cret' } })).status).toBe(200);
    const visit = await app.request(`/runs/${fixtureRunId}?token=s3cret&status=failed`, { headers: host });
    expect(visit.status).toBe(303);
    expect(visit.headers.get('location')).toBe(`/runs/${fixtureRunId}?status=failed`);
    const cookie = visit.headers.get('set-cookie')!.split(';')[0]!;
    expect(visit.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    expect((await app.request(`/runs/${fixtureRunId}`, { headers: { ...host, cookie } })).status).toBe(200);
    // The cookie a browser sends by itself is not enough for a write: it needs the header.
    expect((await app.request('/api/x', { method: 'POST', headers: { ...host, cookie } })).status).toBe(403);
    expect(
      (await app.request('/api/x', { method: 'POST', headers: { ...host, [tokenHeader]: 's3cret' } })).status,
    ).toBe(404);
  });
});
