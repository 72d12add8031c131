import { zeroUsage } from '../../activities/agents/index.js';
import { runKeys } from '../../activities/contracts/keys.js';
import type { SampleRef, SlideRecord } from '../../activities/contracts/slide-record.js';
import { sampleKey } from '../../activities/export/index.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { jpegOf } from '../export/export-samples.js';

// A small finished run for the review tests, as slide workflows leave it in the store: a slide
// whose id has a dot (so its keys are not its id), a second slide, a failed patch and a failed slide.

export const dottedSlide = 'TCGA-AA-3844.bf88';
export const plainSlide = 's2';
export const failedSlide = 'bad';

export interface ReviewTestRun {
  /** Exportable sample keys, in key order, with their generated captions. */
  captions: Map<string, string>;
  /** The key of the patch whose summarize failed. */
  failedKey: string;
}

export async function writeReviewTestRun(store: ObjectStore, runId: string): Promise<ReviewTestRun> {
  const captions = new Map<string, string>();
  let failedKey = '';
  const at = '2026-01-01T00:00:00.000Z';
  const slide = async (slideId: string, count: number, failedIndex?: number) => {
    const samples: SampleRef[] = [];
    for (let i = 0; i < count; i++) {
      const x = i * 672;
      const y = 0;
      const id = `${x}_${y}`;
      const key = sampleKey(slideId, x, y);
      const jpegKey = `runs/${runId}/patches/${slideId}/${id}.jpg`;
      const recordKey = `runs/${runId}/records/${slideId}/${id}.json`;
      await store.put(jpegKey, await jpegOf(i + slideId.length));
      if (i === failedIndex) {
        failedKey = key;
        const failure = { agent: 'summarize', code: 'ModelOutputInvalid', reason: 'no caption' };
        samples.push({ id, x, y, level: 0, size: 672, jpegKey, failure });
        continue;
      }
      const caption = `${slideId} patch ${i}: glands in fibrous stroma`;
      await store.put(recordKey, Buffer.from(JSON.stringify({ caption, tokens: 9 })));
      captions.set(key, caption);
      samples.push({ id, x, y, level: 0, size: 672, mpp: 0.5, jpegKey, recordKey });
    }
    await putRecord(store, record(runId, slideId, { project: 'TCGA-COAD', samples }, at));
  };
  await slide(dottedSlide, 5, 3);
  await slide(plainSlide, 4);
  await putRecord(store, record(runId, failedSlide, { status: 'failed', reason: 'NoTissue' }, at));
  return { captions: new Map([...captions].sort(([a], [b]) => (a < b ? -1 : 1))), failedKey };
}

function record(runId: string, slideId: string, fields: Partial<SlideRecord>, at: string): SlideRecord {
  return {
    runId,
    slideId,
    slide: `slides/${slideId}.svs`,
    status: 'completed',
    counts: {},
    failures: {},
    usage: zeroUsage,
    samples: [],
    prefixes: {},
    startedAt: at,
    finishedAt: at,
    ...fields,
  };
}

async function putRecord(store: ObjectStore, slide: SlideRecord): Promise<void> {
  await store.put(runKeys.slideRecord(slide.runId, slide.slideId), Buffer.from(JSON.stringify(slide)));
}
