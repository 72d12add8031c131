// The app's URLs, built in one place so pages and routes agree. Ids were checked on the way in;
// encoding them again costs nothing and keeps a link from ever being read as markup or a path.
// (Joined from segments: these are URLs, not store keys, which only keys.ts builds.)

const path = (...segments: string[]): string => ['', ...segments.map(encodeURIComponent)].join('/');

export const reviewUrls = {
  runs: (): string => '/',
  run: (runId: string): string => path('runs', runId),
  slide: (runId: string, slideId: string): string => path('runs', runId, 'slides', slideId),
  patch: (runId: string, slideId: string, patchId: string): string =>
    path('runs', runId, 'slides', slideId, 'patches', patchId),
  thumbnail: (runId: string, slideId: string): string =>
    path('media', 'runs', runId, 'slides', slideId, 'thumbnail.png'),
  patchImage: (runId: string, slideId: string, patchId: string): string =>
    path('media', 'runs', runId, 'slides', slideId, 'patches', `${patchId}.jpg`),
  /** A patch page in queue mode: its "next" walks the queue of n per slide drawn with seed. */
  queuePatch: (runId: string, slideId: string, patchId: string, n: number, seed: string): string =>
    `${path('runs', runId, 'slides', slideId, 'patches', patchId)}?${new URLSearchParams({ n: String(n), seed }).toString()}`,
  queue: (runId: string, n?: number, seed?: string, page = 1): string => {
    const params = new URLSearchParams();
    if (n !== undefined) params.set('n', String(n));
    if (seed !== undefined) params.set('seed', seed);
    if (page > 1) params.set('page', String(page));
    const query = params.toString();
    return `${path('runs', runId, 'queue')}${query ? `?${query}` : ''}`;
  },
  reviewsApi: (runId: string): string => path('api', 'runs', runId, 'reviews'),
  approveApi: (runId: string): string => path('api', 'runs', runId, 'approve'),
  styles: (): string => '/assets/review.css',
  script: (): string => '/assets/review.js',
};
