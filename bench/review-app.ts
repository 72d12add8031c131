// Benchmark of the review web app on a large finished run: `npx tsx bench/review-app.ts`.
//
// Writes a synthetic run (bench/review-run-fixture.ts: 4,000 slides of 16 captioned patches, a few
// percent failed, two projects, one export) into a filesystem store in a temp folder, serves the
// real app over HTTP on loopback (createReviewApp + startReviewServer) and times whole requests with
// fetch, one at a time: the run page cold (its first request lists and reads every slide record) and
// warm, a deep page, filtered pages, the caption search cold (index build from pathgen.json) and
// warm, the runs page, slide and patch pages of random slides, and a thumbnail (200, then 304 on
// If-None-Match). Each figure has a reference measured in the same run, request by request
// alternating with it (cold figures: once before and twice after), since a shared machine drifts:
//   - cold run page: listing runs/<run>/slides/ and reading + JSON.parse of every record (16 at a time);
//   - cold search: store.get + JSON.parse of the export's pathgen.json (the index build's floor);
//   - warm pages: a trivial route of a bare node:http server (the HTTP floor: what the app adds);
//   - run page once the 5 s cache expired (refreshMs 0): the re-listing it starts but does not wait for;
//   - thumbnail: store.get (store.head for the 304) of the same key answered by a bare node:http server.
// Nothing timed is asserted; every response's status is checked, and a run page must list 100
// slides (`class="slide-link"`): any miss exits 1.
// Knobs: BENCH_SLIDES (4,000), BENCH_SAMPLES (16 per slide), BENCH_CANDIDATES (400 per slide),
// BENCH_REPEATS (30 per page figure), BENCH_IMAGE_REPEATS (100 per image figure), BENCH_QUERY
// (necrosis), BENCH_SEED (42), BENCH_JSON=/path (also write the figures), BENCH_KEEP=1 (keep the store).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { seededRandom } from '../activities/common/seeded-random.js';
import { exportKeys, runKeys } from '../activities/contracts/keys.js';
import { forEachBounded } from '../activities/export/store-upload.js';
import { FsObjectStore } from '../activities/store/fs-store.js';
import { listAll } from '../activities/store/object-store.js';
import { reviewUrls } from '../workers/review-app/review-urls.js';
import { createReviewApp, startReviewServer } from '../workers/review-app/index.js';
import { writeReviewRun, type ReviewRun } from './review-run-fixture.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const slideCount = env('BENCH_SLIDES', 4000);
const samplesPerSlide = env('BENCH_SAMPLES', 16);
const candidatesPerSlide = env('BENCH_CANDIDATES', 400);
const repeats = env('BENCH_REPEATS', 30);
const imageRepeats = env('BENCH_IMAGE_REPEATS', 100);
const seed = env('BENCH_SEED', 42);
const query = process.env.BENCH_QUERY ?? 'necrosis';
const perPage = 100;

interface Figure {
  figure: string;
  medianMs: number;
  p95Ms: number;
  runs: number;
  reference: string;
  referenceMs: number;
  ratio: number;
  kb?: number; // the largest response body, for pages
}

class BenchFailure extends Error {}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new BenchFailure(message);
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
};
const median = (values: number[]) => quantile(values, 0.5);

interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** One whole request: the body read to its end, so the time covers what a browser waits for. */
async function fetchAll(url: string, headers?: Record<string, string>): Promise<Reply> {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

async function expectStatus(url: string, status: number, headers?: Record<string, string>): Promise<Reply> {
  const reply = await fetchAll(url, headers);
  check(
    reply.status === status,
    `${url} answered ${reply.status}, not ${status}: ${reply.body.toString('utf8', 0, 300)}`,
  );
  return reply;
}

interface Timing {
  ms: number[];
  refMs: number[]; // the reference's times, one after each timed call
  bytes: number; // the largest response body
}

/**
 * `count` timed calls of `once` (given the call's index), each followed by one timed call of
 * `reference` when there is one: alternating keeps a shared machine's load drift out of the ratio.
 */
async function timed(
  count: number,
  once: (i: number) => Promise<number | void>,
  reference?: (i: number) => Promise<unknown>,
): Promise<Timing> {
  const timing: Timing = { ms: [], refMs: [], bytes: 0 };
  for (let i = 0; i < count; i++) {
    let started = performance.now();
    const size = await once(i);
    timing.ms.push(performance.now() - started);
    if (typeof size === 'number') timing.bytes = Math.max(timing.bytes, size);
    if (!reference) continue;
    started = performance.now();
    await reference(i);
    timing.refMs.push(performance.now() - started);
  }
  return timing;
}

const slideLinks = (body: Buffer): number => body.toString('utf8').split('class="slide-link"').length - 1;

/** A page: timed `count` times against `reference`, each reply 200, the first also checked by `verify`. */
async function page(
  count: number,
  url: (i: number) => string,
  reference: ((i: number) => Promise<unknown>) | undefined,
  verify?: (reply: Reply) => void,
): Promise<Timing> {
  return timed(
    count,
    async (i) => {
      const reply = await expectStatus(url(i), 200);
      if (i === 0) verify?.(reply);
      return reply.body.length;
    },
    reference,
  );
}

const listsSlides = (expected: number, what: string) => (reply: Reply) =>
  check(slideLinks(reply.body) === expected, `${what} lists ${slideLinks(reply.body)} slide links, not ${expected}`);

/** The bare-HTTP references: a trivial route, and store reads answered without the app. */
async function startBareServer(store: FsObjectStore): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://bare');
    const key = url.searchParams.get('key');
    if (url.pathname === '/get' && key) {
      store.get(key).then(
        (bytes) => res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': bytes.length }).end(bytes),
        () => res.writeHead(404).end(),
      );
    } else if (url.pathname === '/head' && key) {
      store.head(key).then(
        (info) => res.writeHead(info ? 304 : 404, { ETag: `W/"${info?.size ?? 0}"` }).end(),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** What a cold run page cannot avoid: list the records, then read and parse each, 16 at a time. */
async function recordsFloor(store: FsObjectStore, runId: string): Promise<number> {
  const started = performance.now();
  const keys: string[] = [];
  for await (const info of listAll(store, runKeys.slideRecords(runId))) keys.push(info.key);
  let parsed = 0;
  await forEachBounded(keys, 16, async (key) => {
    JSON.parse((await store.get(key)).toString('utf8'));
    parsed++;
  });
  check(parsed === slideCount, `the floor read ${parsed} records, not ${slideCount}`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const wallStarted = performance.now();
  const root = await mkdtemp(join(tmpdir(), 'pathgen-bench-review-'));
  const store = new FsObjectStore({ root });
  const figures: Figure[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const started = performance.now();
    const run: ReviewRun = await writeReviewRun(store, {
      slides: slideCount,
      samplesPerSlide,
      candidatesPerSlide,
      seed,
    });
    console.log(
      `fixture: ${slideCount} slides (${run.completed.length} completed, ${run.failed.length} failed), ` +
        `${run.captions} captions, ${run.objects} objects, ${(run.bytes / 2 ** 20).toFixed(0)} MiB, ` +
        `written in ${((performance.now() - started) / 1000).toFixed(1)} s to ${root}`,
    );
    check(run.completed.length > 0, 'the fixture has no completed slide');
    const { runId } = run;
    const random = seededRandom(seed);
    const anyOf = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const add = (figure: string, result: Timing, reference: string, referenceMs = median(result.refMs)) => {
      const medianMs = median(result.ms);
      figures.push({
        figure,
        medianMs,
        p95Ms: quantile(result.ms, 0.95),
        runs: result.ms.length,
        reference,
        referenceMs,
        ratio: medianMs / referenceMs,
        kb: result.bytes ? result.bytes / 1024 : undefined,
      });
    };
    /** A cold figure happens once: its floor runs once before it and twice after, and counts by its median. */
    const coldAgainst = async (floor: () => Promise<number>, cold: () => Promise<Timing>) => {
      const floors = [await floor()];
      const timing = await cold();
      floors.push(await floor(), await floor());
      return { timing, floorMs: median(floors) };
    };
    const clock = async (work: () => Promise<unknown>): Promise<number> => {
      const started = performance.now();
      await work();
      return performance.now() - started;
    };

    const bare = await startBareServer(store);
    closers.push(() => new Promise((done) => bare.server.close(done)));
    const app = await startReviewServer(createReviewApp({ store }), '127.0.0.1', 0);
    closers.push(() => app.close());
    const runUrl = `${app.url}${reviewUrls.run(runId)}`;
    const httpFloor = async () => void (await expectStatus(`${bare.url}/ok`, 200));
    const fullPage = Math.min(perPage, slideCount);

    // 1. The run page, cold: the app's first request reads every record.
    const cold = await coldAgainst(
      () => recordsFloor(store, runId),
      () => page(1, () => runUrl, undefined, listsSlides(fullPage, 'the cold run page')),
    );
    add(`run page, cold (reads ${slideCount} records)`, cold.timing, 'list + read + parse records', cold.floorMs);

    // Warmed first: its connection and first-call JIT are no part of a floor.
    await timed(20, httpFloor);
    const http = await timed(imageRepeats, httpFloor);
    add('(HTTP floor: bare node:http)', http, 'itself', median(http.ms));

    const warm = (url: string, expected: number, what: string) =>
      page(repeats, () => url, httpFloor, listsSlides(expected, what));
    add('run page 1, warm', await warm(runUrl, fullPage, 'page 1'), 'HTTP floor');
    const deep = Math.min(30, Math.ceil(slideCount / perPage));
    const onDeep = Math.min(perPage, slideCount - (deep - 1) * perPage);
    add(`run page ${deep}, warm`, await warm(`${runUrl}?page=${deep}`, onDeep, `page ${deep}`), 'HTTP floor');
    const failedOnPage = Math.min(perPage, run.failed.length);
    add(
      'run page ?status=failed',
      await warm(`${runUrl}?status=failed`, failedOnPage, 'the failed filter'),
      'HTTP floor',
    );
    const project = run.projects[1]!;
    const inProject = Math.min(perPage, run.projectSlides[project] ?? 0);
    add(
      `run page ?project=${project}`,
      await warm(`${runUrl}?project=${project}`, inProject, 'the project filter'),
      'HTTP floor',
    );

    const exportKey = `${exportKeys.version(exportKeys.prefix(runId), run.exportVersion)}pathgen.json`;
    const searchUrl = `${runUrl}?q=${encodeURIComponent(query)}`;
    const searched = (reply: Reply) =>
      check(
        reply.body.includes('Captions matching') && reply.body.includes(run.exportVersion),
        'the search page shows no results from the export',
      );
    // Untimed: if the 5 s listing cache ran out meanwhile, this request re-lists, not the cold search.
    await expectStatus(runUrl, 200);
    const coldSearch = await coldAgainst(
      () => clock(async () => JSON.parse((await store.get(exportKey)).toString('utf8')) as unknown),
      () => page(1, () => searchUrl, undefined, searched),
    );
    add(`search ?q=${query}, cold (index build)`, coldSearch.timing, 'get + parse pathgen.json', coldSearch.floorMs);
    add(`search ?q=${query}, warm`, await page(repeats, () => searchUrl, httpFloor, searched), 'HTTP floor');

    // A request once the run's listing cache has expired (every 5 s by default): it starts the
    // listing again and is answered from the previous one (an app with refreshMs 0 does so on every
    // request). The reference is that listing, which the request no longer waits for.
    const relisting = await startReviewServer(createReviewApp({ store, refreshMs: 0 }), '127.0.0.1', 0);
    closers.push(() => relisting.close());
    await expectStatus(`${relisting.url}${reviewUrls.run(runId)}`, 200);
    const listing = async () => {
      for await (const info of listAll(store, runKeys.slideRecords(runId))) void info;
    };
    add(
      'run page, cache expired (re-lists behind it)',
      await page(
        repeats,
        () => `${relisting.url}${reviewUrls.run(runId)}`,
        listing,
        listsSlides(fullPage, 're-listed page'),
      ),
      'list records (store)',
    );

    // 2. The runs page, then slide and patch pages of random slides.
    add(
      'runs page /',
      await page(
        repeats,
        () => `${app.url}/`,
        httpFloor,
        (reply) => check(reply.body.includes(`/runs/${runId}`), 'the runs page does not link the run'),
      ),
      'HTTP floor',
    );
    const slidesDrawn = Array.from({ length: repeats }, () => anyOf(run.completed));
    add(
      'slide page (random slides)',
      await page(
        repeats,
        (i) => `${app.url}${reviewUrls.slide(runId, slidesDrawn[i]!.slideId)}`,
        httpFloor,
        (reply) => check(reply.body.includes('class="patch-link"'), 'the slide page lists no patches'),
      ),
      'HTTP floor',
    );
    const patchesDrawn = Array.from({ length: repeats }, () => {
      const slide = anyOf(run.completed);
      return `${app.url}${reviewUrls.patch(runId, slide.slideId, anyOf(slide.patchIds))}`;
    });
    add('patch page (random patches)', await page(repeats, (i) => patchesDrawn[i]!, httpFloor), 'HTTP floor');

    // 3. Thumbnails: 200 with an ETag, then the same tag back for a 304.
    const thumbs = Array.from({ length: imageRepeats }, () => anyOf(run.completed));
    const thumbUrl = (i: number) => `${app.url}${reviewUrls.thumbnail(runId, thumbs[i]!.slideId)}`;
    const bareUrl = (route: string, i: number) =>
      `${bare.url}/${route}?key=${encodeURIComponent(thumbs[i]!.thumbnailKey)}`;
    const etags: string[] = [];
    const full = await timed(
      imageRepeats,
      async (i) => {
        const reply = await expectStatus(thumbUrl(i), 200);
        const etag = reply.headers.get('etag');
        check(
          etag !== null && reply.headers.get('content-type') === 'image/png',
          `${thumbUrl(i)} has no ETag or is not a PNG`,
        );
        etags.push(etag);
        return reply.body.length;
      },
      (i) => expectStatus(bareUrl('get', i), 200),
    );
    add('thumbnail 200', full, 'store.get + bare http');
    const revalidated = await timed(
      imageRepeats,
      async (i) => void (await expectStatus(thumbUrl(i), 304, { 'If-None-Match': etags[i]! })),
      (i) => expectStatus(bareUrl('head', i), 304),
    );
    add('thumbnail 304 (If-None-Match)', revalidated, 'store.head + bare http');
    const imaged = run.completed.find((slide) => slide.slideId === run.withImages[0]);
    if (imaged) {
      const image = `${app.url}${reviewUrls.patchImage(runId, imaged.slideId, imaged.patchIds[0]!)}`;
      const reply = await expectStatus(image, 200);
      check(reply.headers.get('content-type') === 'image/jpeg', `${image} is not a JPEG`);
    }

    const rows = figures.map((f) => [
      f.figure,
      f.medianMs.toFixed(2),
      f.p95Ms.toFixed(2),
      String(f.runs),
      f.reference,
      f.referenceMs.toFixed(2),
      `${f.ratio.toFixed(1)}×`,
      f.kb === undefined ? '' : f.kb.toFixed(1),
    ]);
    const header = ['figure', 'median ms', 'p95 ms', 'n', 'reference', 'ref ms', 'ratio', 'KB'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: string[]) =>
      cells.map((cell, i) => (i === 0 || i === 4 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
    console.log(`\nreview app, run of ${slideCount} slides (${run.captions} captions), ${perPage} slides a page`);
    console.log(line(header));
    for (const row of rows) console.log(line(row));
    const wallS = (performance.now() - wallStarted) / 1000;
    console.log(`\nwall time ${wallS.toFixed(1)} s (fixture included)`);
    if (process.env.BENCH_JSON) {
      const out = { slides: slideCount, samplesPerSlide, candidatesPerSlide, captions: run.captions, wallS, figures };
      await writeFile(process.env.BENCH_JSON, `${JSON.stringify(out, null, 2)}\n`);
    }
  } finally {
    for (const close of closers.reverse()) await close();
    if (process.env.BENCH_KEEP === '1') console.log(`kept the store at ${root}`);
    else await rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof BenchFailure ? `bench failed: ${error.message}` : error);
  process.exit(1);
});
