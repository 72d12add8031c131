import { Hono } from 'hono';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { runKeys, tileKeys } from '../../activities/contracts/keys.js';
import { sampleKey } from '../../activities/export/sample-key.js';
import { reviewCountsBySlide } from '../../activities/review/index.js';
import type { RecordedReview, ReviewRequest } from '../../activities/review/index.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { accessGuard, writeTokenFor } from './access-guard.js';
import { addReviewApi } from './review-api.js';
import { CaptionSearch } from './caption-search.js';
import {
  patchIdSchema,
  presentFilters,
  runFiltersSchema,
  runIdSchema,
  slideIdSchema,
  defaultQueueSeed,
  defaultQueueSize,
  queueParamsSchema,
  slidesPerPage,
} from './review-params.js';
import { nextUnreviewed, queueProgress, reviewQueue, slideQueue } from './review-queue.js';
import type { QueueParams } from './review-queue.js';
import { ReviewStates } from './review-states.js';
import { exportVersions, listRunIds, runTotals } from './run-catalog.js';
import { ownKey, readPatchTexts, readSlideDetails, readSlideRecord, sampleOf, stagePrefix } from './slide-details.js';
import { SlideSummaries } from './slide-summaries.js';
import { reviewUrls } from './review-urls.js';
import { serveStoreImage } from './store-media.js';
import type { ReviewTemporal } from './temporal-status.js';
import { layout, type Html } from './views/layout.js';
import { generatedCaption, patchPage } from './views/patch-page.js';
import { queuePage } from './views/queue-page.js';
import { gatePanel, reviewPanel } from './views/review-panel.js';
import type { PanelData } from './views/review-panel.js';
import { reviewScript } from './views/review-script.js';
import { runPage } from './views/run-page.js';
import { runsPage } from './views/runs-page.js';
import { slidePage } from './views/slide-page.js';
import { reviewStyles } from './views/styles.js';

// The review web app: runs → a run's slides → a slide → a patch, over any ObjectStore, plus the
// review queue and the review API (review-api.ts) when it is given a recorder.
// Every id in a URL is checked by a schema and turned into a key by keys.ts (or taken from the
// slide's own record); bad input is a 4xx with a message, and no error ever shows a stack trace.

export interface ReviewAppOptions {
  store: ObjectStore;
  /** Serve only this run (the runs page then lists just it). */
  runId?: string;
  temporal?: ReviewTemporal;
  /** PATHGEN_REVIEW_TOKEN: required on every request when set. */
  token?: string;
  /** How long a run's listing of slide records (and of review records) is reused; default 5 s. */
  refreshMs?: number;
  /** Records review actions (workers/review-recorder.ts); absent, the app is read-only. */
  recordReview?: (request: ReviewRequest) => Promise<RecordedReview>;
  /** Whom the app's review records name (review.reviewer, PATHGEN_REVIEWER, else user@host). */
  reviewer?: string;
}

const maxSearchHits = 100;

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || what}: ${issue.message}`);
    throw new HTTPException(400, { message: `bad ${what}: ${problems.join('; ')}` });
  }
  return result.data;
}

const notFound = (message: string): HTTPException => new HTTPException(404, { message });

export function createReviewApp(options: ReviewAppOptions): Hono {
  const { store, temporal } = options;
  const writeToken = writeTokenFor(options);
  const summaries = new SlideSummaries(store, options.refreshMs ?? 5000);
  const captions = new CaptionSearch(store);
  const reviews = new ReviewStates(store, options.refreshMs ?? 5000);
  const writable = options.recordReview !== undefined;
  const reviewer = options.reviewer ?? 'unknown';
  const app = new Hono();
  const page = (c: Context, title: string, crumbs: { label: string; href?: string }[], body: Html) =>
    c.html(layout(title, [{ label: 'runs', href: '/' }, ...crumbs], body, writeToken, writable ? reviewer : undefined));

  const servedRun = (c: Context): string => {
    const runId = parsed(runIdSchema, c.req.param('runId'), 'run id');
    if (options.runId !== undefined && runId !== options.runId)
      throw notFound(`this app serves run ${options.runId} only`);
    return runId;
  };
  const slideRecordOf = async (c: Context) => {
    const runId = servedRun(c);
    const slideId = parsed(slideIdSchema, c.req.param('slideId'), 'slide id');
    const record = await readSlideRecord(store, runId, slideId);
    if (!record) throw notFound(`run ${runId} has no slide ${slideId}`);
    return { runId, record };
  };
  const sampleFrom = (record: Awaited<ReturnType<typeof slideRecordOf>>['record'], raw: string | undefined) => {
    const patchId = parsed(patchIdSchema, raw, 'patch id');
    const sample = sampleOf(record, patchId);
    if (!sample) throw notFound(`slide ${record.slideId} has no patch ${patchId}`);
    return sample;
  };

  const queueParams = async (c: Context, runId: string): Promise<QueueParams & { page: number }> => {
    const query = parsed(queueParamsSchema, c.req.query(), 'queue');
    const gate = query.n === undefined ? await temporal?.runGate(runId) : undefined;
    return {
      n: query.n ?? gate?.samplesPerSlide ?? defaultQueueSize,
      seed: query.seed ?? defaultQueueSeed,
      page: query.page,
    };
  };

  app.use('*', async (c, next) => {
    await next();
    // Only the app's own stylesheet, script and images: no inline script can run, so text from the
    // store can never act, and no other site may frame the pages.
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
  });
  app.use('*', accessGuard(options, writeToken));

  app.onError((error, c) => {
    const api = new URL(c.req.url).pathname.startsWith('/api/');
    if (error instanceof HTTPException) {
      return api ? c.json({ error: error.message }, error.status) : c.text(error.message, error.status);
    }
    // A store or record problem: say what, never how (no stack, no internals).
    const code = (error as { code?: unknown }).code;
    const message = `the review app could not answer${typeof code === 'string' ? ` (${code})` : ''}`;
    return api ? c.json({ error: message }, 500) : c.text(message, 500);
  });
  app.notFound((c) => c.text(`no page at ${new URL(c.req.url).pathname}`, 404));

  app.get('/assets/review.css', (c) =>
    c.body(reviewStyles, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=600' }),
  );

  app.get('/assets/review.js', (c) =>
    c.body(reviewScript, 200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'public, max-age=600',
    }),
  );

  addReviewApi(app, { reviews, recordReview: options.recordReview, reviewer, temporal, servedRun });

  app.get('/', async (c) => {
    const runIds = options.runId !== undefined ? [options.runId] : await listRunIds(store);
    const rows = await Promise.all(
      runIds.map(async (runId) => ({
        runId,
        totals: runTotals(await summaries.of(runId)),
        exports: await exportVersions(store, runId),
        temporal: await temporal?.runStatus(runId),
      })),
    );
    const note = temporal
      ? rows.some((row) => row.temporal)
        ? 'Statuses from Temporal; counts from the slide records in the store.'
        : 'Temporal did not answer: counts from the slide records in the store.'
      : 'Temporal not configured: counts from the slide records in the store.';
    return page(c, 'Runs', [], runsPage(rows, note));
  });

  app.get('/runs/:runId', async (c) => {
    const runId = servedRun(c);
    const filters = presentFilters(parsed(runFiltersSchema, c.req.query(), 'filters'));
    const all = await summaries.of(runId);
    if (all.length === 0 && !(await store.exists(runKeys.manifestErrors(runId))))
      throw notFound(`no run ${runId} in ${store.description}`);
    const matching = all.filter(
      (slide) =>
        (!filters.project || slide.project === filters.project) &&
        (!filters.status || slide.status === filters.status) &&
        (!filters.reason || slide.reason === filters.reason),
    );
    const start = (filters.page - 1) * slidesPerPage;
    const byWsi = new Map(all.map((slide) => [slide.wsiId, slide.slideId]));
    const [exports, temporalStatus, running, result, state, gate] = await Promise.all([
      exportVersions(store, runId),
      temporal?.runStatus(runId),
      temporal?.runningSlides(runId, 50) ?? [],
      filters.q ? captions.search(runId, filters.q, maxSearchHits) : undefined,
      reviews.of(runId),
      temporal?.runGate(runId),
    ]);
    const body = runPage({
      runId,
      totals: runTotals(all),
      exports,
      filters,
      matching: matching.length,
      slides: matching.slice(start, start + slidesPerPage),
      reasons: [...new Set(all.flatMap((slide) => (slide.reason ? [slide.reason] : [])))].sort(),
      temporal: temporalStatus,
      running,
      search: result ? { result, slideOf: (wsiId) => byWsi.get(wsiId) } : undefined,
      reviews: reviewCountsBySlide(state),
      gate: gatePanel(gate, reviewUrls.approveApi(runId), writable),
    });
    return page(c, `Run ${runId}`, [{ label: runId }], body);
  });

  app.get('/runs/:runId/queue', async (c) => {
    const runId = servedRun(c);
    const params = await queueParams(c, runId);
    const [all, state, gate] = await Promise.all([summaries.of(runId), reviews.of(runId), temporal?.runGate(runId)]);
    if (all.length === 0) throw notFound(`no run ${runId} in ${store.description}`);
    const rows = all
      .map((slide) => {
        const queue = slideQueue(slide, params);
        return { slideId: slide.slideId, ...queueProgress(queue, state) };
      })
      .filter((row) => row.queued > 0);
    const queue = reviewQueue(all, params);
    const next = nextUnreviewed(queue, state);
    const start = (params.page - 1) * slidesPerPage;
    const body = queuePage({
      runId,
      ...params,
      ...queueProgress(queue, state),
      next: next && reviewUrls.queuePatch(runId, next.slideId, next.id, params.n, params.seed),
      slides: rows.slice(start, start + slidesPerPage),
      slideCount: rows.length,
      gate: gatePanel(gate, reviewUrls.approveApi(runId), writable),
    });
    return page(
      c,
      `Review queue of ${runId}`,
      [{ label: runId, href: reviewUrls.run(runId) }, { label: 'queue' }],
      body,
    );
  });

  app.get('/runs/:runId/slides/:slideId', async (c) => {
    const { runId, record } = await slideRecordOf(c);
    const [details, state] = await Promise.all([readSlideDetails(store, record), reviews.of(runId)]);
    const statusOf = (patchId: string) => {
      const sample = sampleOf(record, patchId);
      return sample && state.get(sampleKey(record.slideId, sample.x, sample.y))?.status;
    };
    return page(
      c,
      `Slide ${record.slideId}`,
      [{ label: runId, href: reviewUrls.run(runId) }, { label: record.slideId }],
      slidePage(details, runId, statusOf),
    );
  });

  app.get('/runs/:runId/slides/:slideId/patches/:patchId', async (c) => {
    const { runId, record } = await slideRecordOf(c);
    const sample = sampleFrom(record, c.req.param('patchId'));
    // Queue mode (the queue's links carry n and seed): only then is the sample, or the gate, consulted.
    const params = Object.keys(c.req.query()).length > 0 ? await queueParams(c, runId) : undefined;
    const [texts, state] = await Promise.all([readPatchTexts(store, record, sample), reviews.of(runId)]);
    const key = sampleKey(record.slideId, sample.x, sample.y);
    const review = state.get(key);
    let queue: PanelData['queue'];
    let next: string | undefined;
    if (params) {
      const items = reviewQueue(await summaries.of(runId), params);
      const position = items.findIndex((item) => item.key === key);
      const following = nextUnreviewed(items, state, key);
      next = following && reviewUrls.queuePatch(runId, following.slideId, following.id, params.n, params.seed);
      queue = {
        ...queueProgress(items, state),
        ...(position >= 0 ? { position: position + 1 } : {}),
        queueUrl: reviewUrls.queue(runId, params.n, params.seed),
      };
    }
    const panel: PanelData = {
      api: reviewUrls.reviewsApi(runId),
      key,
      review,
      caption: review?.edit?.caption ?? generatedCaption(texts),
      next,
      queue,
      writable: writable && record.status === 'completed' && sample.recordKey !== undefined && !sample.failure,
    };
    const crumbs = [
      { label: runId, href: reviewUrls.run(runId) },
      { label: record.slideId, href: reviewUrls.slide(runId, record.slideId) },
      { label: sample.id },
    ];
    return page(c, `Patch ${sample.id}`, crumbs, patchPage(record, sample, texts, runId, reviewPanel(panel)));
  });

  app.get('/media/runs/:runId/slides/:slideId/thumbnail.png', async (c) => {
    const { record } = await slideRecordOf(c);
    const tile = stagePrefix(record, 'tile');
    if (!tile) throw notFound(`slide ${record.slideId} has no thumbnail`);
    return serveStoreImage(c, store, tileKeys.thumbnail(tile));
  });

  app.get('/media/runs/:runId/slides/:slideId/patches/:file', async (c) => {
    const { record } = await slideRecordOf(c);
    const file = c.req.param('file');
    if (!file.endsWith('.jpg')) throw notFound(`no image ${file}`);
    const key = ownKey(record, sampleFrom(record, file.slice(0, -'.jpg'.length)).jpegKey);
    if (!key) throw notFound(`patch ${file} of ${record.slideId} is not stored under this run`);
    return serveStoreImage(c, store, key);
  });

  return app;
}
