import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../activities/contracts/keys.js';
import type { ExportPointer } from '../../activities/export/export-pointer.js';
import { readExportPointer } from '../../activities/export/index.js';
import { readReviewState } from '../../activities/review/index.js';
import { requireChromium } from '../../infra/harness/installed-tools.js';
import type { pathgenRun } from '../../workflows/run.js';
import { progressQuery } from '../../workflows/run.js';
import { readTarFiles } from '../export/tar-tools.js';
import { spawnCli } from '../helpers/cli-process.js';
import { connectTestClient, workerProcessEnv } from '../helpers/temporal.js';
import { startGatedRunWorkers, type GatedRunWorkers } from '../helpers/gated-run-workers.js';
import { waitFor } from '../helpers/wait-for.js';

// The whole review loop a person does, in Chromium, against `pathgen review` run as a CLI process
// on the real dev server: a gated run waits; the run page shows the gate, and approving too early is
// refused on the page with the reason; a slide, a patch, a flag from the patch page, the queue
// walked by keyboard with one caption edited; approve again; the run exports without the flagged
// sample and with the edited caption.

describe('the review app on a gated run', () => {
  let dir: string;
  let queues: GatedRunWorkers['queues'];
  let store: GatedRunWorkers['store'];
  let manifest: string;
  let workers: GatedRunWorkers;
  let app: ChildProcessWithoutNullStreams | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    workers = await startGatedRunWorkers('reviewapp', [
      ['r1', 81],
      ['r2', 82],
    ]);
    ({ dir, queues, store, manifest } = workers);
    browser = await chromium.launch({ executablePath: requireChromium(), args: ['--no-sandbox'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (app && app.exitCode === null) app.kill('SIGKILL');
    await workers?.stop();
  });

  async function startApp(): Promise<string> {
    app = spawnCli(['review', '--port', '0'], workerProcessEnv(queues, dir, { PATHGEN_REVIEWER: 'ana@lab' }));
    let stdout = '';
    let stderr = '';
    app.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return await new Promise<string>((resolve, reject) => {
      app!.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const url = /review app on (http:\/\/127\.0\.0\.1:\d+)\/ over .*, Temporal at /.exec(stdout)?.[1];
        if (url) resolve(url);
      });
      app!.once('exit', (code) => reject(new Error(`pathgen review exited ${code}: ${stdout}${stderr}`)));
    });
  }

  /** Runs an action that makes the page navigate, and waits until the next page has loaded. */
  async function andLand(page: Page, action: () => Promise<void>): Promise<void> {
    await Promise.all([page.waitForEvent('framenavigated', { timeout: 20_000 }), action()]);
    await page.waitForLoadState('load');
  }

  it('waits, refuses an early approval on the page, takes reviews from the pages, approves and exports', async () => {
    const runId = `rapp-${randomUUID().slice(0, 8)}`;
    const { client, connection } = await connectTestClient();
    try {
      const handle = await client.workflow.start<typeof pathgenRun>('pathgenRun', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.run(runId),
        args: [
          {
            runId,
            manifest: { uri: manifest },
            settings: { review: { gate: { samplesPerSlide: 2, maxFlagRate: 0.5 } } },
          },
        ],
      });
      await waitFor(async () => (await handle.query(progressQuery)).phase === 'awaiting-review', 'the review wait');
      const url = await startApp();
      const page = await browser!.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));

      await page.goto(`${url}/`);
      await andLand(page, () => page.click(`a[href="/runs/${runId}"]`));
      expect(await page.locator('a.slide-link').allTextContents()).toEqual(['r1', 'r2']);
      expect(await page.locator('section.gate').textContent()).toContain('The run is waiting for review.');
      await page.click('button.approve');
      await page.waitForSelector('.approve-message.bad');
      expect(await page.locator('.approve-message').textContent()).toBe(
        'the reviewed sample is incomplete: 2 of 2 slides need more reviews (r1: 0 of 2 reviewed, r2: 0 of 2 reviewed); the gate asks for 2 per slide',
      );

      // A slide, one of its selected patches, flagged from its page.
      await andLand(page, () => page.click('a.slide-link:text("r1")'));
      expect(await page.locator('svg rect.selected').count()).toBeGreaterThan(0);
      await andLand(page, () => page.locator('svg a').first().click());
      const flagged = (await page.locator('#review').getAttribute('data-key'))!;
      await page.fill('form.flag input[name="reason"]', 'out of focus');
      await andLand(page, () => page.click('form.flag button'));
      expect(await page.locator('.review-state').textContent()).toContain('flagged');

      // The queue: N comes from the gate; edit the first unreviewed caption, accept the rest.
      await page.goto(`${url}/runs/${runId}/queue`);
      expect(await page.locator('input[name="n"]').inputValue()).toBe('2');
      await andLand(page, () => page.click('a.start-queue'));
      const edited = (await page.locator('#review').getAttribute('data-key'))!;
      const caption = 'Glandular adenocarcinoma with desmoplastic stroma, reviewed.';
      await page.keyboard.press('e');
      await page.locator('form.edit textarea').fill(caption);
      await andLand(page, () => page.keyboard.press('Control+Enter'));
      for (let step = 0; step < 8; step += 1) {
        if ((await page.locator('.queue-line').innerText())?.includes('Queue done.')) break;
        await andLand(page, () => page.keyboard.press('a'));
      }
      expect(await page.locator('.queue-line').innerText()).toContain('Queue done.');
      const state = await readReviewState(store, runId);
      expect(state.get(flagged)).toMatchObject({ status: 'flagged', flag: { by: 'ana@lab', reason: 'out of focus' } });
      expect(state.get(edited)).toMatchObject({ status: 'edited', edit: { by: 'ana@lab', caption } });

      await page.goto(`${url}/runs/${runId}`);
      await page.click('button.approve');
      await expect
        .poll(() => page.locator('.approve-message').textContent(), { timeout: 60_000 })
        .not.toMatch(/^(asking the run…)?$/);
      expect(await page.locator('.approve-message').textContent()).toMatch(
        /^review complete: \d+ samples reviewed on 2 slides, 1 flagged/,
      );
      expect(errors).toEqual([]);
      await page.close();

      const result = await handle.result();
      expect(result.progress).toMatchObject({ phase: 'done', review: { approvedBy: 'ana@lab' } });
      const pointer = (await readExportPointer(store, `exports/${runId}`)) as ExportPointer;
      const files = readTarFiles(
        await store.get(`exports/${runId}/versions/${pointer.version}/shards/shard-000000.tar`),
      );
      const names = files.map((file) => file.name);
      expect(names).not.toContain(`${flagged}.txt`);
      expect(files.find((file) => file.name === `${edited}.txt`)?.data.toString()).toBe(caption);
      const metadata = JSON.parse(files.find((file) => file.name === `${edited}.json`)!.data.toString()) as {
        review?: { editedBy?: string; caption?: string };
      };
      expect(metadata.review).toMatchObject({ editedBy: 'ana@lab', caption });
    } finally {
      await connection.close();
    }
  }, 300_000);
});
