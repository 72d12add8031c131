import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { workflowIds } from '../../activities/contracts/keys.js';
import type { LinearProbeResult, SlideTaskResult, ZeroShotResult } from '../../activities/eval/eval-types.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import type { pathgenEval } from '../../workflows/eval.js';
import { runWorkers } from '../../workers/run-workers.js';
import { writeTinyClipModel } from '../../workers/synthetic/clip-models/tiny-clip-model.js';
import { connectTestClient, testWorkerConfig, uniqueQueues } from '../helpers/temporal.js';
import { syntheticKinds, syntheticPatch } from '../../workers/synthetic/datasets/synthetic-export.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

// pathgenEval end to end on a tiny ONNX CLIP registered in the store: zero-shot and a linear probe
// on a folder dataset with train/test splits, ABMIL on slide splits with one broken slide, the
// report written with its plots, and a second evaluation served from the feature cache.

async function writePatchFolder(root: string, perClass: { train: number; test: number }): Promise<void> {
  let seed = 1;
  for (const split of ['train', 'test'] as const) {
    for (const kind of syntheticKinds) {
      const dir = path.join(root, split, kind.name);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < perClass[split]; i++)
        writeFileSync(path.join(dir, `${i}.jpg`), await syntheticPatch(kind, seed++));
    }
  }
}

describe('pathgenEval', () => {
  it('scores zero-shot, linear-probe and slide tasks, writes the report, and reuses cached features', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-eval-'));
    const store = new FsObjectStore({ root: path.join(dir, 'store') });
    await writeTinyClipModel(path.join(dir, 'store', 'models', 'tiny'), { seed: 5, imageSize: 32, embedDim: 16 });
    const patches = path.join(dir, 'patches');
    await writePatchFolder(patches, { train: 12, test: 8 });

    const slides = path.join(dir, 'slides');
    mkdirSync(slides, { recursive: true });
    const rows = ['slide,label,split,path'];
    for (let i = 0; i < 6; i++) {
      const file = path.join(slides, `s${i}.svs`);
      await writeSyntheticSvs(file, { width: 2400, height: 1800, seed: 70 + i });
      rows.push(`s${i},${i % 2 === 0 ? 'even' : 'odd'},${i < 4 ? 'train' : 'test'},slides/s${i}.svs`);
    }
    writeFileSync(path.join(slides, 'broken.svs'), 'not a slide');
    rows.push('broken,odd,train,slides/broken.svs');
    writeFileSync(path.join(dir, 'splits.csv'), `${rows.join('\n')}\n`);

    const queues = uniqueQueues('eval');
    const config = testWorkerConfig(queues, dir);
    let stop!: () => void;
    const workers = runWorkers({
      config,
      roles: ['cpu', 'gpu'],
      store,
      until: new Promise<void>((resolve) => (stop = resolve)),
    });
    const { client, connection } = await connectTestClient();
    const input = (evalId: string) => ({
      evalId,
      model: 'models/tiny',
      zeroShot: [
        {
          dataset: {
            folder: patches,
            classes: ['pale pink stroma', 'crowded purple nuclei'],
            templates: ['An H&E image of {class}.', 'a photo of {class}'],
          },
        },
      ],
      linearProbe: [{ dataset: { folder: patches }, shots: [2, null], seeds: [0, 1] }],
      slideTasks: [{ name: 'even-odd', splits: path.join(dir, 'splits.csv'), epochs: 5, tiling: { patchSize: 224 } }],
    });
    try {
      const first = await client.workflow.execute<typeof pathgenEval>('pathgenEval', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.eval(`e1-${randomUUID().slice(0, 8)}`),
        args: [input('first')],
      });
      expect(first.summary.map((line) => line.kind)).toEqual(['zero-shot', 'linear-probe', 'slide']);
      // The probe's test split is the zero-shot task's: those 16 images come from the cache already.
      expect(first.features.cached).toBe(16);
      expect(first.features.embedded).toBeGreaterThan(40);

      const report = JSON.parse((await store.get(first.report.json)).toString('utf8')) as {
        tasks: [ZeroShotResult, LinearProbeResult, SlideTaskResult];
        model: { id: string; name: string };
      };
      const [zeroShot, probe, slide] = report.tasks;
      expect(report.model).toMatchObject({ id: 'models/tiny', name: 'tiny-clip' });
      // Zero-shot scores the test split with PathGen's single template.
      expect(zeroShot.templates).toEqual(['An H&E image of {class}.']);
      expect(zeroShot.metrics.count).toBe(16);
      expect(zeroShot.metrics.confusion.flat().reduce((a, b) => a + b, 0)).toBe(16);
      // Pink and purple patches are far apart even in a random encoder's features: the probe separates them.
      expect(probe.results.map((result) => result.shots)).toEqual([2, null]);
      expect(probe.results[1]!.accuracy.mean).toBeGreaterThanOrEqual(0.9);
      expect(probe.results[1]!.weightDecay).toHaveLength(2);
      // The broken slide is skipped with its reason; the task still ran.
      expect(slide.slides).toMatchObject({ train: 4, test: 2 });
      expect(slide.slides.skipped).toEqual([{ slide: 'broken', reason: expect.stringMatching(/^SlideUnreadable: /) }]);
      expect(slide.auroc).toBeGreaterThanOrEqual(0);
      expect(slide.roc).toHaveLength(1);

      const markdown = (await store.get(first.report.markdown)).toString('utf8');
      expect(markdown).toContain('even-odd');
      expect(first.report.plots.length).toBeGreaterThanOrEqual(3);
      for (const plot of first.report.plots) expect((await store.get(plot)).toString('utf8')).toMatch(/^<svg/);
      expect((await store.get(first.report.html)).toString('utf8')).toContain('<svg');

      // The same model on the same images: nothing is embedded again, and the numbers do not move.
      const second = await client.workflow.execute<typeof pathgenEval>('pathgenEval', {
        taskQueue: queues.cpu,
        workflowId: workflowIds.eval(`e2-${randomUUID().slice(0, 8)}`),
        args: [input('second')],
      });
      expect(second.features).toEqual({ embedded: 0, cached: first.features.embedded + first.features.cached });
      expect(second.summary).toEqual(first.summary);

      // A dataset folder that is not there fails in the prepare step, with the path, and no retries.
      const failure = await client.workflow
        .execute<typeof pathgenEval>('pathgenEval', {
          taskQueue: queues.cpu,
          workflowId: workflowIds.eval(`e3-${randomUUID().slice(0, 8)}`),
          args: [
            { evalId: 'missing', model: 'models/tiny', zeroShot: [{ dataset: { folder: path.join(dir, 'nope') } }] },
          ],
        })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const cause = (failure as WorkflowFailedError).cause?.cause as { type?: string; message?: string } | undefined;
      expect(cause?.type).toBe('InvalidDataset');
      expect(cause?.message).toContain(path.join(dir, 'nope'));
    } finally {
      await connection.close();
      stop();
      await workers;
    }
  }, 300_000);
});
