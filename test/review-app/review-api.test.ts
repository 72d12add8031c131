import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readReviewState } from '../../activities/review/index.js';
import type { FsObjectStore } from '../../activities/store/fs-store.js';
import { createReviewApp } from '../../workers/review-app/index.js';
import { createReviewRecorder } from '../../workers/review-recorder.js';
import { fixtureRunId, writeReviewFixtureRun } from '../helpers/review-fixture-run.js';

// The review API over the fixture run, through the app's fetch handler: what it records, what it
// refuses (with the same words as the CLI), and that a write without the token header never lands.

let store: FsObjectStore;
let root: string;
beforeEach(async () => ({ store, root } = await writeReviewFixtureRun()));
afterEach(() => rm(root, { recursive: true, force: true }));

const host = { host: '127.0.0.1:8787' };
const api = `/api/runs/${fixtureRunId}/reviews`;

function writableApp() {
  return { app: createReviewApp({ store, recordReview: createReviewRecorder({}, store), reviewer: 'ana@lab' }) };
}

async function tokenOf(app: ReturnType<typeof createReviewApp>): Promise<string> {
  const body = await (await app.request('/', { headers: host })).text();
  return /name="pathgen-write-token" content="([^"]+)"/.exec(body)![1]!;
}

async function post(app: ReturnType<typeof createReviewApp>, body: unknown, headers: Record<string, string> = {}) {
  const response = await app.request(api, {
    method: 'POST',
    headers: { ...host, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  // The access guard answers in plain text before any route: keep that as the error.
  const text = await response.text();
  const json = text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { error: text };
  return { status: response.status, json };
}

describe('the review API', () => {
  it('records accept, flag and edit as the app’s reviewer, and the pages show them', async () => {
    const { app } = writableApp();
    const token = await tokenOf(app);
    const headers = { 'x-pathgen-token': token };
    expect((await post(app, { action: 'accept', key: 'colon-1_672_672' }, headers)).json.message).toBe(
      'accepted colon-1_672_672 as ana@lab',
    );
    await post(app, { action: 'flag', key: 'colon-1_1344_672', reason: 'pen mark' }, headers);
    const edited = await post(
      app,
      { action: 'edit', key: 'lung-2_672_672', caption: 'Lepidic adenocarcinoma.' },
      headers,
    );
    expect(edited.status).toBe(200);
    expect(edited.json.review).toMatchObject({
      status: 'edited',
      edit: { by: 'ana@lab', caption: 'Lepidic adenocarcinoma.' },
    });

    const state = await readReviewState(store, fixtureRunId);
    expect(Object.fromEntries([...state].map(([key, review]) => [key, review.status]))).toEqual({
      'colon-1_672_672': 'accepted',
      'colon-1_1344_672': 'flagged',
      'lung-2_672_672': 'edited',
    });
    const run = (await (await app.request(`/runs/${fixtureRunId}`, { headers: host })).text()).replace(/\s+/g, ' ');
    expect(run).toMatch(/reviewed<\/span> ?<b>3<\/b>/);
    expect(run).toContain('2 (1, 0)');
    const patch = await (
      await app.request(`/runs/${fixtureRunId}/slides/colon-1/patches/1344_672`, { headers: host })
    ).text();
    expect(patch).toContain('class="review-flagged">flagged</b>');
    expect(patch).toContain('pen mark');
  });

  it('refuses with a 4xx and a message: bad JSON, a bad action, an empty reason, a caption over 77 tokens, an unknown key', async () => {
    const { app } = writableApp();
    const headers = { 'x-pathgen-token': await tokenOf(app) };
    expect(await post(app, '{not json', headers)).toEqual({ status: 400, json: { error: 'the body must be JSON' } });
    expect((await post(app, { action: 'delete', key: 'colon-1_672_672' }, headers)).status).toBe(400);
    const empty = await post(app, { action: 'flag', key: 'colon-1_672_672', reason: '  ' }, headers);
    expect(empty).toEqual({ status: 400, json: { error: 'a flag needs a reason (--reason TEXT)' } });
    const long = await post(app, { action: 'edit', key: 'colon-1_672_672', caption: 'gland '.repeat(80) }, headers);
    expect(long.status).toBe(400);
    expect(long.json.error).toMatch(/^the caption has \d+ CLIP tokens \(start and end included\); the limit is 77/);
    const unknown = await post(app, { action: 'accept', key: 'colon-1_9_9' }, headers);
    expect(unknown).toEqual({ status: 404, json: { error: `run ${fixtureRunId} has no sample colon-1_9_9` } });
    const failed = await post(app, { action: 'accept', key: 'broken-3_0_0' }, headers);
    expect(failed.status).toBe(404);
    expect(await readReviewState(store, fixtureRunId)).toEqual(new Map());
  });

  it('never records without the token header: a form post from another site is refused', async () => {
    const { app } = writableApp();
    const form = await app.request(api, {
      method: 'POST',
      headers: { ...host, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: 'action=flag&key=colon-1_672_672&reason=x',
    });
    expect(form.status).toBe(403);
    expect(await post(app, { action: 'accept', key: 'colon-1_672_672' }, { 'x-pathgen-token': 'guess' })).toEqual({
      status: 403,
      json: { error: 'writes need the review token in the x-pathgen-token header' },
    });
    expect(await readReviewState(store, fixtureRunId)).toEqual(new Map());
  });

  it('says so when started read-only, and when Temporal is not there to approve', async () => {
    const app = createReviewApp({ store });
    const headers = { 'x-pathgen-token': await tokenOf(app) };
    expect(await post(app, { action: 'accept', key: 'colon-1_672_672' }, headers)).toEqual({
      status: 405,
      json: { error: 'this review app was started read-only' },
    });
    const approve = await app.request(`/api/runs/${fixtureRunId}/approve`, {
      method: 'POST',
      headers: { ...host, ...headers, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(approve.status).toBe(503);
    expect(await approve.json()).toEqual({ error: 'Temporal is not reachable from this review app' });
  });

  it('serves every page with a Content-Security-Policy that allows only its own script', async () => {
    const response = await createReviewApp({ store }).request(`/runs/${fixtureRunId}`, { headers: host });
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    const script = await createReviewApp({ store }).request('/assets/review.js', { headers: host });
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });
});
