import { rm } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReviewState } from '../../activities/review/index.js';
import type { FsObjectStore } from '../../activities/store/fs-store.js';
import { requireChromium } from '../../infra/harness/installed-tools.js';
import { createReviewApp, startReviewServer, type ReviewServer } from '../../workers/review-app/index.js';
import { createReviewRecorder } from '../../workers/review-recorder.js';
import { fixtureRunId, writeReviewFixtureRun } from '../helpers/review-fixture-run.js';

// The review queue in Chromium, by keyboard only, under the app's Content-Security-Policy: a
// accepts, f + reason + Enter flags, e + text + ctrl+Enter edits (an edit over 77 CLIP tokens is
// refused on the page, and nothing is recorded), each action moves on to the next unreviewed patch.

let store: FsObjectStore;
let root: string;
let server: ReviewServer;
let browser: Browser;

beforeAll(async () => {
  ({ store, root } = await writeReviewFixtureRun());
  const app = createReviewApp({ store, recordReview: createReviewRecorder({}, store), reviewer: 'ana@lab' });
  server = await startReviewServer(app, '127.0.0.1', 0);
  browser = await chromium.launch({ executablePath: requireChromium(), args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

/** Runs an action that navigates, and waits for the page it lands on. */
async function andLand(page: Page, action: () => Promise<void>): Promise<void> {
  const before = page.url();
  await Promise.all([page.waitForEvent('framenavigated', { timeout: 15_000 }), action()]);
  await page.waitForLoadState('load');
  if (page.url() === before) await page.waitForSelector('#review');
}

const statuses = async () =>
  Object.fromEntries([...(await readReviewState(store, fixtureRunId))].map(([key, review]) => [key, review.status]));

describe('the review queue in Chromium', () => {
  it('walks a sample of 2 per slide with the keyboard and records each action', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/runs/${fixtureRunId}`);
    await page.click('a.queue-link');
    await page.fill('input[name="n"]', '2');
    await page.click('form.filters button[type="submit"]');
    expect(await page.locator('.card:has-text("in the queue") b').textContent()).toBe('4');
    await andLand(page, () => page.click('a.start-queue'));
    expect(await page.locator('.queue-line').innerText()).toMatch(/0 of 4 reviewed; this is patch 1 of the queue/);

    const keyOf = async () => (await page.locator('#review').getAttribute('data-key'))!;
    const first = await keyOf();
    await andLand(page, () => page.keyboard.press('a'));
    const second = await keyOf();
    expect(second).not.toBe(first);

    await page.keyboard.press('f');
    await page.keyboard.type('pen mark over the tissue');
    await andLand(page, () => page.keyboard.press('Enter'));
    const third = await keyOf();

    await page.keyboard.press('e');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('gland '.repeat(80));
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector('.review-message.bad');
    expect(await page.locator('.review-message').textContent()).toMatch(/CLIP tokens .*the limit is 77: shorten it/);
    expect(await keyOf()).toBe(third);
    await page.locator('form.edit textarea').fill('Adenocarcinoma glands in desmoplastic stroma.');
    await andLand(page, () => page.keyboard.press('Control+Enter'));
    const fourth = await keyOf();
    expect(await page.locator('.queue-line').innerText()).toMatch(/3 of 4 reviewed/);

    // The last one: the queue is done, and the page stays on it, showing so.
    await andLand(page, () => page.keyboard.press('a'));
    expect(await page.locator('.queue-line').innerText()).toContain('Queue done.');
    expect(await statuses()).toEqual({
      [first]: 'accepted',
      [second]: 'flagged',
      [third]: 'edited',
      [fourth]: 'accepted',
    });
    const edited = (await readReviewState(store, fixtureRunId)).get(third)!;
    expect(edited.edit).toMatchObject({ by: 'ana@lab', caption: 'Adenocarcinoma glands in desmoplastic stroma.' });

    // The slide page shows each patch's review.
    const [slideId] = second.split('_');
    await page.goto(`${server.url}/runs/${fixtureRunId}/slides/${slideId}`);
    expect(await page.locator('td .review-flagged').count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
