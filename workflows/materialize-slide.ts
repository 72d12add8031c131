import { isCancellation, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { MaterializeSlideRef } from '../activities/contracts/slide-job.js';
import type { MaterializeActivities } from '../activities/stages/materialize.js';
import type { RunActivities } from '../activities/stages/run.js';
import type { RunSettings } from '../activities/contracts/run-settings.js';
import { materializeActivityOptions, runBookkeepingOptions } from './activity-options.js';
import { zeroUsage } from '../activities/contracts/usage.js';
import { PathgenRunId, PathgenSlideId, PathgenStage, PathgenStatus } from './search-attributes.js';
import { failureOf, markSlideFailed, recordFailedSlide, type SlideResult } from './slide-outcome.js';

// Materialize mode, one slide: crop the 672 × 672 level-0 patches the PathGen-format JSON lists for
// it, with their captions, and record the slide. No selection, no agents.

export interface PathgenMaterializeSlideInput {
  runId: string;
  slide: MaterializeSlideRef;
  settings: RunSettings;
}

export async function pathgenMaterializeSlide(input: PathgenMaterializeSlideInput): Promise<SlideResult> {
  const { runId, slide, settings } = input;
  const { materializeSlide } = proxyActivities<MaterializeActivities>(
    materializeActivityOptions(settings.taskQueues.cpu),
  );
  const { recordSlide } = proxyActivities<RunActivities>(runBookkeepingOptions(settings.taskQueues.cpu));
  const started = Date.now();
  upsertSearchAttributes([
    { key: PathgenRunId, value: runId },
    { key: PathgenSlideId, value: slide.slideId },
    { key: PathgenStatus, value: 'running' },
    { key: PathgenStage, value: 'materialize' },
  ]);
  try {
    const result = await materializeSlide({
      runId,
      slideId: slide.slideId,
      slide: slide.slide,
      wsiId: slide.wsiId,
      ...(slide.project !== undefined ? { project: slide.project } : {}),
      patchSize: settings.tiling.patchSize,
    });
    upsertSearchAttributes([{ key: PathgenStatus, value: 'completed' }]);
    const counts = { ...result.counts, selected: result.counts.positions ?? 0, captioned: result.counts.written ?? 0 };
    return {
      slideId: slide.slideId,
      status: 'completed',
      counts,
      failures: result.failures,
      usage: zeroUsage,
      durationMs: Date.now() - started,
      reached: [],
    };
  } catch (error) {
    if (isCancellation(error)) throw error;
    const { reason, message } = failureOf(error, 'ActivityFailed');
    markSlideFailed(reason);
    return await recordFailedSlide(recordSlide, {
      runId,
      job: { kind: 'materialize', slide },
      reason,
      message: `materialize: ${message}`,
      startedAtMs: started,
    });
  }
}
