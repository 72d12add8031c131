import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { isPathgenError } from '../../activities/common/errors.js';
import type { RecordedReview, ReviewRequest } from '../../activities/review/index.js';
import { reviewBodySchema } from './review-params.js';
import type { ReviewStates } from './review-states.js';
import type { ReviewTemporal } from './temporal-status.js';

// The app's two writes, JSON in and out: a review action on one sample (checked and recorded by
// activities/review, so the CLI and the app refuse the same things with the same words) and the
// gate's approveExport. The access guard has already checked the write token.

export interface ReviewApiDeps {
  reviews: ReviewStates;
  /** Absent: the app is read-only and says so. */
  recordReview?: (request: ReviewRequest) => Promise<RecordedReview>;
  reviewer: string;
  temporal?: ReviewTemporal;
  /** The run id from the URL, checked (and limited to the served run). */
  servedRun: (c: Context) => string;
}

const statusOfCode: Record<string, 400 | 404 | 409 | 503> = {
  ReviewInvalid: 400,
  SampleNotFound: 404,
  RunNotFound: 404,
  ReviewConflict: 409,
  ReviewIncomplete: 409,
  TemporalUnavailable: 503,
};

async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new HTTPException(400, { message: 'the body must be JSON' });
  }
}

/** A refusal the domain typed becomes its 4xx (or 503) with the domain's message. */
async function answered<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const status = isPathgenError(error) ? statusOfCode[error.code] : undefined;
    if (status !== undefined) throw new HTTPException(status, { message: (error as Error).message });
    throw error;
  }
}

export function addReviewApi(app: Hono, deps: ReviewApiDeps): void {
  app.post('/api/runs/:runId/reviews', async (c) => {
    const runId = deps.servedRun(c);
    const recordReview = deps.recordReview;
    if (!recordReview) throw new HTTPException(405, { message: 'this review app was started read-only' });
    const parsed = reviewBodySchema.safeParse(await jsonBody(c));
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
      throw new HTTPException(400, { message: `bad review: ${problems.join('; ')}` });
    }
    const body = parsed.data;
    const recorded = await answered(() =>
      recordReview({
        runId,
        key: body.key,
        action: body.action,
        reviewer: deps.reviewer,
        ...(body.action === 'flag' ? { reason: body.reason } : {}),
        ...(body.action === 'edit' ? { caption: body.caption } : {}),
      }),
    );
    deps.reviews.add(runId, recorded);
    const review = (await deps.reviews.of(runId)).get(body.key);
    const verb = { accept: 'accepted', flag: 'flagged', edit: 'edited the caption of' }[body.action];
    return c.json({
      message: `${verb} ${body.key} as ${deps.reviewer}`,
      recordKey: recorded.recordKey,
      record: recorded.record,
      review,
    });
  });

  app.post('/api/runs/:runId/approve', async (c) => {
    const runId = deps.servedRun(c);
    const temporal = deps.temporal;
    if (!temporal) throw new HTTPException(503, { message: 'Temporal is not reachable from this review app' });
    const message = await answered(() => temporal.approveExport(runId, deps.reviewer));
    return c.json({ message });
  });
}
