import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireChromium } from '../../infra/harness/installed-tools.js';
import { createReviewApp, startReviewServer, type ReviewServer } from '../../workers/review-app/index.js';
import { fixtureRunId, writeReviewFixtureRun } from '../helpers/review-fixture-run.js';

// The review app in a real browser: Debian's Chromium, driven by playwright-core, over a fixture run.

const run = promisify(execFile);
const executablePath = requireChromium();
let server: ReviewServer;
let browser: Browser;
let root: string;
let profile: string;

beforeAll(async () => {
  const fixture = await writeReviewFixtureRun();
  root = fixture.root;
  server = await startReviewServer(createReviewApp({ store: fixture.store }), '127.0.0.1', 0);
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  profile = await mkdtemp(path.join(tmpdir(), 'pathgen-chromium-'));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await rm(root, { recursive: true, force: true });
  await rm(profile, { recursive: true, force: true });
});

async function expectEveryImageLoaded(page: Page): Promise<number> {
  await page.waitForLoadState('load');
  // Lazy images start when scrolled to: wait until every one has finished, loaded or not.
  // A polled function, not a string: the app's Content-Security-Policy forbids eval in the page.
  await page.waitForFunction(() =>
    [...(globalThis as unknown as { document: { images: { complete: boolean }[] } }).document.images].every(
      (image) => image.complete,
    ),
  );
  // A string runs in the page as is (the tests compile without the DOM's types).
  const images = await page.evaluate<{ src: string; loaded: boolean }[]>(
    '[...document.images].map((image) => ({ src: image.getAttribute("src"), loaded: image.complete && image.naturalWidth > 0 }))',
  );
  expect(images.filter((image) => !image.loaded)).toEqual([]);
  return images.length;
}

describe('the review app in Chromium', () => {
  it('opens the runs, a run, a slide and a patch, and every image loads', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.click(`a[href="/runs/${fixtureRunId}"]`);
    expect(await page.locator('a.slide-link').allTextContents()).toEqual(['broken-3', 'colon-1', 'lung-2']);
    // Lazy thumbnails load once scrolled into view: scroll, then check.
    await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
    expect(await expectEveryImageLoaded(page)).toBe(2);

    await page.click('a.slide-link:text("colon-1")');
    expect(await page.locator('h1').textContent()).toBe('Slide colon-1');
    expect(await page.locator('svg rect.selected').count()).toBe(2);
    expect(await expectEveryImageLoaded(page)).toBe(3);

    await page.locator('svg a').first().click();
    await page.waitForURL(/\/patches\/672_672$/);
    expect(await page.locator('.caption').textContent()).toContain('Atypical glands');
    expect(await page.locator('.revision del').allTextContents()).toContain('prominent');
    expect(await expectEveryImageLoaded(page)).toBe(1);
    await page.close();
  }, 60_000);

  it('filters through the form and searches captions', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/runs/${fixtureRunId}`);
    await page.selectOption('select[name="status"]', 'failed');
    await page.click('button[type="submit"]');
    expect(await page.locator('a.slide-link').allTextContents()).toEqual(['broken-3']);
    await page.goto(`${server.url}/runs/${fixtureRunId}?q=pneumocytes`);
    expect(await page.locator('td >> text=Lepidic growth').count()).toBe(2);
    await page.close();
  }, 60_000);

  it('chromium --headless --dump-dom of the run page lists the slide ids', async () => {
    const { stdout } = await run(
      executablePath,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        `--user-data-dir=${profile}`,
        '--dump-dom',
        `${server.url}/runs/${fixtureRunId}`,
      ],
      { timeout: 60_000 },
    );
    for (const slide of ['colon-1', 'lung-2', 'broken-3']) expect(stdout).toContain(`>${slide}</a>`);
    expect(stdout).toContain(
      `<img class="thumb" loading="lazy" alt="thumbnail of colon-1" src="/media/runs/${fixtureRunId}/slides/colon-1/thumbnail.png">`,
    );
  }, 90_000);
});
