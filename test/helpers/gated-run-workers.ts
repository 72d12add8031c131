import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { runWorkers } from '../../workers/run-workers.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import { testWorkerConfig, uniqueQueues } from './temporal.js';

// What the review-gate tests share: two small synthetic slides and their manifest in a temp folder,
// an fs store there, and in-process workers for all three queues of the test's own task queues.

export interface GatedRunWorkers {
  dir: string;
  store: FsObjectStore;
  queues: ReturnType<typeof uniqueQueues>;
  manifest: string;
  stop(): Promise<void>;
}

export async function startGatedRunWorkers(
  label: string,
  slides: readonly (readonly [slideId: string, seed: number])[],
): Promise<GatedRunWorkers> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pathgen-${label}-`));
  const queues = uniqueQueues(label);
  const store = new FsObjectStore({ root: path.join(dir, 'store') });
  const rows = [];
  for (const [slideId, seed] of slides) {
    const slide = await writeSyntheticSvs(path.join(dir, `${slideId}.svs`), { width: 4000, height: 3000, seed });
    rows.push({ slideId, slide: slide.path, project: 'TCGA-LUAD', report: 'Invasive adenocarcinoma.' });
  }
  const manifest = path.join(dir, 'manifest.jsonl');
  writeFileSync(manifest, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
  const config = testWorkerConfig(queues, dir, { select: { maxPerSlide: 4 }, run: { export: { csv: false } } });
  let release!: () => void;
  const workers = runWorkers({
    config,
    roles: ['cpu', 'gpu', 'agents'],
    store,
    until: new Promise<void>((resolve) => (release = resolve)),
  });
  return {
    dir,
    store,
    queues,
    manifest,
    stop: async () => {
      release();
      await workers;
    },
  };
}
