import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FsObjectStore } from '../../activities/store/fs-store.js';
import { createReviewApp } from '../../workers/review-app/index.js';
import { fixtureRunId, writeReviewFixtureRun } from '../helpers/review-fixture-run.js';

let store: FsObjectStore;
let root: string;
beforeAll(async () => ({ store, root } = await writeReviewFixtureRun()));
afterAll(() => rm(root, { recursive: true, force: true }));

const local = { headers: { host: '127.0.0.1:8787' } };
const get = (app: ReturnType<typeof createReviewApp>, path: string, headers: Record<string, string> = {}) =>
  app.request(path, { headers: { ...local.headers, ...headers } });

/** A page's HTML with runs of whitespace made one space and none between tags (markup is formatted freely). */
const page = async (app: ReturnType<typeof createReviewApp>, path: string) =>
  (await (await get(app, path)).text()).replace(/\s+/g, ' ').replace(/> </g, '><');

describe('the review app, read-only pages', () => {
  it('lists the runs with counts, failures by reason and export versions', async () => {
    const body = await page(createReviewApp({ store }), '/');
    expect(body).toContain(`href="/runs/${fixtureRunId}"`);
    expect(body).toContain('completed 2 · failed 1');
    expect(body).toContain('SlideUnreadable 1');
    expect(body).toContain('v20260101T000010000Z');
    expect(body).toContain('v20251231T000000000Z');
  });

  it('lists a run’s slides with thumbnails, escapes store text, and filters by status and project', async () => {
    const app = createReviewApp({ store });
    const body = await page(app, `/runs/${fixtureRunId}`);
    for (const slide of ['colon-1', 'lung-2', 'broken-3']) expect(body).toContain(`>${slide}</a>`);
    expect(body).toContain(`src="/media/runs/${fixtureRunId}/slides/colon-1/thumbnail.png"`);
    expect(body).not.toContain('<script>alert(1)</script>');
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const failed = await page(app, `/runs/${fixtureRunId}?status=failed`);
    expect(failed).toContain('>broken-3</a>');
    expect(failed).not.toContain('>colon-1</a>');
    const luad = await page(app, `/runs/${fixtureRunId}?project=TCGA-LUAD&reason=SlideUnreadable`);
    expect(luad).toContain('>broken-3</a>');
    expect(luad).not.toContain('>lung-2</a>');
  });

  it('searches captions in the latest export and links the hits to their patches', async () => {
    const body = await page(createReviewApp({ store }), `/runs/${fixtureRunId}?q=Lepidic+PNEUMOCYTES`);
    expect(body).toContain('2 in export v20260101T000010000Z');
    expect(body).toContain(`href="/runs/${fixtureRunId}/slides/lung-2/patches/672_672"`);
    expect(body).not.toContain(`href="/runs/${fixtureRunId}/slides/colon-1/patches/672_672"`);
  });

  it('shows a slide with its candidate grid and clickable selected patches with scores', async () => {
    const body = await page(createReviewApp({ store }), `/runs/${fixtureRunId}/slides/colon-1`);
    expect(body.match(/<rect class="candidate"/g)).toHaveLength(4);
    expect(body.match(/<rect class="selected"/g)).toHaveLength(2);
    expect(body).toContain(`<a href="/runs/${fixtureRunId}/slides/colon-1/patches/1344_672">`);
    expect(body).toContain('0.900');
    expect(body).toContain('0.800');
  });

  it('shows a patch: description, the revision as a word diff, caption, tokens, models, prompts, usage', async () => {
    const body = await page(createReviewApp({ store }), `/runs/${fixtureRunId}/slides/colon-1/patches/672_672`);
    expect(body).toContain('<del>prominent</del>');
    expect(body).toContain('<ins>small</ins>');
    expect(body).toContain('&lt;b&gt;Focal');
    expect(body).toContain('Atypical glands in desmoplastic stroma');
    expect(body).toMatch(/CLIP tokens<\/dt><dd>17</);
    for (const text of ['builtin-describe', 'revise/1#bbb', 'summarize/1#ccc', 'promptTokens 900'])
      expect(body).toContain(text);
  });

  it('serves images with an ETag and answers 304 when the browser has them', async () => {
    const app = createReviewApp({ store });
    const first = await get(app, `/media/runs/${fixtureRunId}/slides/colon-1/patches/672_672.jpg`);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/jpeg');
    expect(first.headers.get('cache-control')).toContain('max-age');
    const etag = first.headers.get('etag')!;
    expect(etag).toBeTruthy();
    const again = await get(app, `/media/runs/${fixtureRunId}/slides/colon-1/patches/672_672.jpg`, {
      'if-none-match': etag,
    });
    expect(again.status).toBe(304);
    const thumbnail = await get(app, `/media/runs/${fixtureRunId}/slides/colon-1/thumbnail.png`);
    expect(thumbnail.headers.get('content-type')).toBe('image/png');
  });

  it('answers bad input with a 4xx and a message, never a stack trace', async () => {
    const app = createReviewApp({ store });
    const cases: [string, number, string][] = [
      [`/runs/${fixtureRunId}?status=weird`, 400, 'bad filters'],
      [`/runs/${fixtureRunId}?page=0`, 400, 'bad filters'],
      [`/runs/${fixtureRunId}?sort=x`, 400, 'bad filters'],
      ['/runs/..%2F..%2Fetc', 400, 'bad run id'],
      [`/runs/${fixtureRunId}/slides/colon-1/patches/..%2Fx`, 400, 'bad patch id'],
      [`/runs/${fixtureRunId}/slides/nope`, 404, 'no slide nope'],
      [`/runs/${fixtureRunId}/slides/colon-1/patches/1_1`, 404, 'no patch 1_1'],
      ['/runs/other-run', 404, 'no run other-run'],
      [`/media/runs/${fixtureRunId}/slides/broken-3/thumbnail.png`, 404, 'no thumbnail'],
    ];
    for (const [path, status, message] of cases) {
      const response = await get(app, path);
      const text = await response.text();
      expect({ path, status: response.status }).toEqual({ path, status });
      expect(text).toContain(message);
      expect(text).not.toMatch(/\bat .+\.(ts|js):\d+/);
    }
  });

  it('with --run, serves that run only', async () => {
    const app = createReviewApp({ store, runId: 'another' });
    expect((await get(app, `/runs/${fixtureRunId}`)).status).toBe(404);
    expect(await page(app, '/')).toContain('href="/runs/another"');
  });
});
