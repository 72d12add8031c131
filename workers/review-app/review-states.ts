import { reviewKeys } from '../../activities/contracts/keys.js';
import { forEachBounded } from '../../activities/export/store-upload.js';
import { foldReviews, parseReviewRecord } from '../../activities/review/index.js';
import type { ReviewState, StoredReview } from '../../activities/review/index.js';
import { listAll } from '../../activities/store/object-store.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { refreshStale, type Refreshable } from './stale-refresh.js';

// A run's review state, kept in memory: review records are written once and never change, so a
// refresh lists the run's review folder and reads only the records it has not seen. What this app
// records itself joins the state at once, so the page after an action already shows it; records
// from elsewhere (the CLI, another app) show up after the next refresh (stale-refresh.ts).

interface RunReviews extends Refreshable {
  records: Map<string, StoredReview>;
  state: ReviewState;
}

export class ReviewStates {
  private readonly runs = new Map<string, RunReviews>();

  constructor(
    private readonly store: ObjectStore,
    private readonly refreshMs: number,
  ) {}

  async of(runId: string): Promise<ReviewState> {
    const entry = this.entry(runId);
    await refreshStale(entry, this.refreshMs, () => this.refresh(runId, entry));
    return entry.state;
  }

  add(runId: string, stored: StoredReview): void {
    const entry = this.entry(runId);
    entry.records.set(stored.recordKey, stored);
    entry.state = foldReviews([...entry.records.values()]);
  }

  private entry(runId: string): RunReviews {
    let entry = this.runs.get(runId);
    if (!entry) this.runs.set(runId, (entry = { records: new Map(), state: new Map(), refreshedAt: -Infinity }));
    return entry;
  }

  private async refresh(runId: string, entry: RunReviews): Promise<void> {
    const unseen: string[] = [];
    for await (const object of listAll(this.store, reviewKeys.records(runId))) {
      if (object.key.endsWith('.json') && !entry.records.has(object.key)) unseen.push(object.key);
    }
    await forEachBounded(unseen, 16, async (key) => {
      entry.records.set(key, { recordKey: key, record: parseReviewRecord(await this.store.get(key), key, runId) });
    });
    if (unseen.length > 0) entry.state = foldReviews([...entry.records.values()]);
    entry.refreshedAt = Date.now();
  }
}
