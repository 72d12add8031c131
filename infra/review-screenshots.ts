// `npm run review:screenshots [-- --run RUN]`: screenshots of the review app's main pages (runs, a
// run, a slide, the review queue, a patch in it) over the configured store, into docs/review/*.png for the README. Make a
// run first (`pathgen demo --slides 2`); it drives Debian's Chromium as the browser tests do.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { loadConfig, formatConfigIssues } from '../workers/config/load-config.js';
import { openConfiguredStore } from '../workers/configured-store.js';
import { createReviewApp, startReviewServer } from '../workers/review-app/index.js';
import { listRunIds } from '../workers/review-app/run-catalog.js';
import { createReviewRecorder } from '../workers/review-recorder.js';
import { reviewerName } from '../workers/reviewer.js';
import { repoRoot, requireChromium } from './harness/installed-tools.js';

const { values } = parseArgs({ options: { run: { type: 'string' }, out: { type: 'string' } } });
const loaded = loadConfig({});
if (!loaded.ok) throw new Error(formatConfigIssues(loaded.issues));
const store = openConfiguredStore(loaded.config.storage);
const runId = values.run ?? (await listRunIds(store))[0];
if (!runId) throw new Error(`no run in ${store.description}: run \`pathgen demo --slides 2\` first`);
const out = values.out ?? path.join(repoRoot, 'docs', 'review');
await mkdir(out, { recursive: true });

// Writable, so the patch page shows its review controls; nothing here presses them.
const app = createReviewApp({
  store,
  runId,
  recordReview: createReviewRecorder(loaded.config, store),
  reviewer: reviewerName(loaded.config),
});
const server = await startReviewServer(app, '127.0.0.1', 0);
const browser = await chromium.launch({ executablePath: requireChromium(), args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const shoot = async (name: string) => {
    // Lazy images below the fold never load; those in view have once the network is idle.
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: false });
    process.stdout.write(`${path.join(out, `${name}.png`)}\n`);
  };
  await page.goto(`${server.url}/`);
  await shoot('runs');
  await page.click('main a[href^="/runs/"]');
  await shoot('run');
  await page.locator('a.slide-link').first().click();
  await shoot('slide');
  await page.goto(`${server.url}/runs/${encodeURIComponent(runId)}/queue`);
  await shoot('queue');
  await page.click('a.start-queue');
  await shoot('patch');
} finally {
  await browser.close();
  await server.close();
}
