import { beforeAll, describe, expect, it } from 'vitest';
import { readReviewState } from '../../activities/review/index.js';
import type { S3ObjectStore } from '../../activities/store/s3-store.js';
import { createReviewApp } from '../../workers/review-app/index.js';
import { createReviewRecorder } from '../../workers/review-recorder.js';
import { newMinioStore } from '../helpers/minio-store.js';
import { fixtureRunId, writeReviewFixtureInto } from '../helpers/review-fixture-run.js';

// The review app over an S3 store (the test run's MinIO): the same pages, images with the store's
// own ETags and a 304 on a match, caption search, and a review recorded into the bucket.

let store: S3ObjectStore;
beforeAll(async () => {
  store = await newMinioStore('review-app');
  await writeReviewFixtureInto(store);
}, 60_000);

const host = { host: 'localhost:8787' };

describe('the review app over S3', () => {
  it('serves the run, a slide, images with ETags, search, and records a review', async () => {
    const app = createReviewApp({ store, recordReview: createReviewRecorder({}, store), reviewer: 'ana@lab' });
    const run = await (await app.request(`/runs/${fixtureRunId}`, { headers: host })).text();
    for (const slide of ['colon-1', 'lung-2', 'broken-3']) expect(run).toContain(`>${slide}</a>`);
    expect(await (await app.request(`/runs/${fixtureRunId}/slides/colon-1`, { headers: host })).text()).toContain(
      'Slide colon-1',
    );

    const thumbnail = `/media/runs/${fixtureRunId}/slides/colon-1/thumbnail.png`;
    const first = await app.request(thumbnail, { headers: host });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/png');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const again = await app.request(thumbnail, { headers: { ...host, 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const patch = await app.request(`/media/runs/${fixtureRunId}/slides/lung-2/patches/672_672.jpg`, { headers: host });
    expect(patch.headers.get('content-type')).toBe('image/jpeg');
    expect((await patch.arrayBuffer()).byteLength).toBeGreaterThan(1000);

    const search = await (await app.request(`/runs/${fixtureRunId}?q=pneumocytes`, { headers: host })).text();
    expect(search.match(/Lepidic growth/g)?.length).toBe(2);

    const token = /name="pathgen-write-token" content="([^"]+)"/.exec(run)![1]!;
    const flagged = await app.request(`/api/runs/${fixtureRunId}/reviews`, {
      method: 'POST',
      headers: { ...host, 'content-type': 'application/json', 'x-pathgen-token': token },
      body: JSON.stringify({ action: 'flag', key: 'lung-2_672_672', reason: 'folded tissue' }),
    });
    expect(flagged.status).toBe(200);
    expect((await readReviewState(store, fixtureRunId)).get('lung-2_672_672')).toMatchObject({
      status: 'flagged',
      flag: { by: 'ana@lab', reason: 'folded tissue' },
    });
  }, 60_000);
});
