import { Context } from '@temporalio/activity';
import path from 'node:path';
import type { TaskQueues } from '../contracts/task-queues.js';
import { withTypedFailures } from '../runtime/activity-failure.js';
import type { ClipModel } from '../clip/clip-model.js';
import { PathgenError } from '../common/errors.js';
import { whileHeartbeating } from '../runtime/heartbeat.js';
import { trainAbmil } from '../eval/abmil-training.js';
import type { SlideExample } from '../eval/abmil-training.js';
import { predictSlides } from '../eval/abmil-kernels.js';
import { evaluationSamples, readSplitCsv, resolveDataset } from '../eval/datasets/index.js';
import type { DatasetSample, ResolvedDataset } from '../eval/datasets/index.js';
import { evalReportPrefix, parseEvalInput } from '../eval/eval-input.js';
import type { EvalInput, LinearProbeTask, ResolvedEvalInput, SlideTask, ZeroShotTask } from '../eval/eval-input.js';
import type { EvalReport, LinearProbeResult, SlideTaskResult, ZeroShotResult } from '../eval/eval-types.js';
import { modelCacheKey } from '../eval/feature-cache.js';
import { embedImageFiles } from '../eval/image-features.js';
import { argmaxRows, classificationMetrics, macroAurocOvr, rocCurvesOvr } from '../eval/metrics.js';
import { runLinearProbeInThread } from '../eval/probe-thread.js';
import { renderHtmlReport, renderMarkdownReport } from '../eval/report/index.js';
import { slideBag } from '../eval/slide-features.js';
import { formatPrompts, zeroShotClassifier, zeroShotLogits, zeroShotPredict } from '../eval/zero-shot.js';
import { localSlidePath } from '../staging/local-slide.js';
import type { ObjectStore } from '../store/object-store.js';

// The workflow takes its input and report types from here, the eval stage's factory.
export type { EvalInput, EvalReport };
export type { EvalTaskResult } from '../eval/eval-types.js';

// The evaluation activities (GPU queue, but the report on CPU): each task is one activity that
// loads the model, gets its features through the cache, and returns a small JSON result; the
// workflow gathers them into the report. Nothing here is PathGen-specific beyond the defaults.

export interface EvalDeps {
  store: ObjectStore;
  slideCacheDir: string;
  slideCacheMaxBytes: number;
  loadClipModel: (model: string, signal: AbortSignal) => Promise<ClipModel>;
  taskQueues: () => TaskQueues;
  /** Images per encoder batch. */
  batchSize?: number;
}

export interface EvalPlan {
  input: ResolvedEvalInput;
  taskQueues: TaskQueues;
  reportPrefix: string;
}

export interface TaskOutcome<R> {
  result: R;
  model: { id: string; name: string; version: string };
  features: { embedded: number; cached: number };
}

export interface EvalTaskInput<T> {
  model: string;
  task: T;
  logitScale: number;
}

export interface WrittenReport {
  json: string;
  markdown: string;
  html: string;
  plots: string[];
}

export type EvalHeartbeat =
  | { phase: 'loading-model' }
  | { phase: 'features'; done: number; total: number; embedded: number; cached: number }
  | { phase: 'scoring' }
  | { phase: 'slide-features'; slide: number; slides: number }
  | { phase: 'training'; epoch: number; epochs: number; loss: number };

export function createEvalActivities(deps: EvalDeps) {
  return {
    prepareEval: (input: EvalInput) => withTypedFailures(() => prepareEval(deps, input)),
    checkEvalData: (input: ResolvedEvalInput) => withTypedFailures(() => checkEvalData(input)),
    zeroShotTask: (input: EvalTaskInput<ZeroShotTask>) =>
      withTypedFailures(() => heartbeating((beat, signal) => zeroShot(deps, input, beat, signal))),
    linearProbeTask: (input: EvalTaskInput<LinearProbeTask>) =>
      withTypedFailures(() => heartbeating((beat, signal) => linearProbe(deps, input, beat, signal))),
    slideTask: (input: EvalTaskInput<SlideTask>) =>
      withTypedFailures(() => heartbeating((beat, signal) => slideLevel(deps, input, beat, signal))),
    writeEvalReport: (input: { report: EvalReport; prefix: string }) =>
      withTypedFailures(() => writeEvalReport(deps.store, input.report, input.prefix)),
  };
}

export type EvalActivities = ReturnType<typeof createEvalActivities>;

/** Heartbeats the latest progress every few seconds, whatever the task is doing. */
function heartbeating<T>(
  work: (beat: (progress: EvalHeartbeat) => void, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  let latest: EvalHeartbeat = { phase: 'loading-model' };
  return whileHeartbeating(
    () => latest,
    () => work((progress) => (latest = progress), Context.current().cancellationSignal),
  );
}

function prepareEval(deps: EvalDeps, raw: EvalInput): Promise<EvalPlan> {
  const input = parseEvalInput(raw);
  return Promise.resolve({ input, taskQueues: deps.taskQueues(), reportPrefix: evalReportPrefix(input) });
}

/**
 * Reads every dataset and split file before any task starts, so a wrong path fails in seconds, not
 * after an hour of embedding. It runs on the GPU queue: the data lives where the tasks run.
 */
async function checkEvalData(input: ResolvedEvalInput): Promise<{ datasets: number; slideTasks: number }> {
  for (const task of [...input.zeroShot, ...input.linearProbe]) await resolveDataset(task.dataset);
  for (const task of input.slideTasks) await readSplitCsv(task.splits, task.classes ? { classes: task.classes } : {});
  return { datasets: input.zeroShot.length + input.linearProbe.length, slideTasks: input.slideTasks.length };
}

async function loadModel(deps: EvalDeps, reference: string, signal: AbortSignal) {
  const model = await deps.loadClipModel(reference, signal);
  const { name, version } = model.config;
  return { model, key: await modelCacheKey(model), identity: { id: reference, name, version } };
}

async function embedSamples(
  deps: EvalDeps,
  loaded: Awaited<ReturnType<typeof loadModel>>,
  samples: readonly DatasetSample[],
  beat: (progress: EvalHeartbeat) => void,
  signal: AbortSignal,
) {
  return embedImageFiles(
    samples.map((sample) => sample.path),
    {
      store: deps.store,
      model: loaded.model,
      modelKey: loaded.key,
      batchSize: deps.batchSize ?? 64,
      signal,
      onProgress: (progress) => beat({ phase: 'features', ...progress }),
    },
  );
}

function splitSamples(dataset: ResolvedDataset, split: string | undefined): DatasetSample[] {
  if (split === undefined) return evaluationSamples(dataset);
  const samples = split === 'all' ? dataset.samples : dataset.splits[split as keyof ResolvedDataset['splits']];
  if (!samples || samples.length === 0) {
    throw new PathgenError('InvalidDataset', `${dataset.source.path} has no ${split} split`, {
      source: dataset.source.path,
      splits: Object.keys(dataset.splits),
    });
  }
  return samples;
}

async function zeroShot(
  deps: EvalDeps,
  input: EvalTaskInput<ZeroShotTask>,
  beat: (progress: EvalHeartbeat) => void,
  signal: AbortSignal,
): Promise<TaskOutcome<ZeroShotResult>> {
  const { task } = input;
  const dataset = await resolveDataset(task.dataset);
  const samples = splitSamples(dataset, task.split);
  const loaded = await loadModel(deps, input.model, signal);
  const images = await embedSamples(deps, loaded, samples, beat, signal);
  beat({ phase: 'scoring' });
  const templates = task.ensemble ? dataset.templates : dataset.templates.slice(0, 1);
  const classTexts = await Promise.all(
    dataset.classNames.map((name) => loaded.model.embedTexts(formatPrompts(templates, name))),
  );
  const classifier = zeroShotClassifier(classTexts, images.dim, { ensemble: task.ensemble });
  const logits = zeroShotLogits(images.features, images.count, classifier, input.logitScale);
  const { predictions } = zeroShotPredict(logits, dataset.classNames.length);
  const labels = samples.map((sample) => sample.label);
  return {
    result: {
      kind: 'zero-shot',
      dataset: dataset.displayName,
      classes: dataset.classNames,
      templates,
      ensemble: task.ensemble,
      logitScale: input.logitScale,
      metrics: classificationMetrics(labels, predictions, dataset.classNames.length),
    },
    model: loaded.identity,
    features: { embedded: images.embedded, cached: images.cached },
  };
}

async function linearProbe(
  deps: EvalDeps,
  input: EvalTaskInput<LinearProbeTask>,
  beat: (progress: EvalHeartbeat) => void,
  signal: AbortSignal,
): Promise<TaskOutcome<LinearProbeResult>> {
  const { task } = input;
  const dataset = await resolveDataset(task.dataset);
  const train = dataset.splits.train;
  const test = dataset.splits.test;
  if (!train?.length || !test?.length) {
    throw new PathgenError(
      'InvalidDataset',
      `${dataset.source.path}: a linear probe needs a train and a test split (train/ and test/ folders or a split column)`,
      { source: dataset.source.path, splits: Object.keys(dataset.splits) },
    );
  }
  const loaded = await loadModel(deps, input.model, signal);
  const trainFeatures = await embedSamples(deps, loaded, train, beat, signal);
  const testFeatures = await embedSamples(deps, loaded, test, beat, signal);
  beat({ phase: 'scoring' });
  const results = await runLinearProbeInThread(
    {
      train: { features: trainFeatures.features, labels: train.map((sample) => sample.label) },
      test: { features: testFeatures.features, labels: test.map((sample) => sample.label) },
      dim: trainFeatures.dim,
      classCount: dataset.classNames.length,
      classNames: dataset.classNames,
      shots: task.shots,
      seeds: task.seeds,
      validationProportion: task.validationProportion,
    },
    signal,
  );
  return {
    result: { kind: 'linear-probe', dataset: dataset.displayName, classes: dataset.classNames, results },
    model: loaded.identity,
    features: {
      embedded: trainFeatures.embedded + testFeatures.embedded,
      cached: trainFeatures.cached + testFeatures.cached,
    },
  };
}

async function slideLevel(
  deps: EvalDeps,
  input: EvalTaskInput<SlideTask>,
  beat: (progress: EvalHeartbeat) => void,
  signal: AbortSignal,
): Promise<TaskOutcome<SlideTaskResult>> {
  const { task } = input;
  const splits = await readSplitCsv(task.splits, task.classes ? { classes: task.classes } : {});
  const classNames = task.classes ?? splits.classes;
  const loaded = await loadModel(deps, input.model, signal);
  const examples: Record<'train' | 'val' | 'test', SlideExample[]> = { train: [], val: [], test: [] };
  const testSlides: string[] = [];
  const skipped: { slide: string; reason: string }[] = [];
  let embedded = 0;
  let cached = 0;
  for (const [index, entry] of splits.slides.entries()) {
    beat({ phase: 'slide-features', slide: index + 1, slides: splits.slides.length });
    const reference = entry.path ?? entry.uri;
    if (reference === undefined) {
      skipped.push({ slide: entry.slide, reason: 'no path or uri column for this slide' });
      continue;
    }
    try {
      const file = await localSlidePath(deps, reference, signal);
      const bag = await slideBag(file, {
        store: deps.store,
        model: loaded.model,
        modelKey: loaded.key,
        tiling: task.tiling,
        batchSize: deps.batchSize ?? 64,
        signal,
      });
      if (bag.count === 0) {
        skipped.push({ slide: entry.slide, reason: 'NoTissue: no patch passed the tissue threshold' });
        continue;
      }
      if (bag.cached) cached += bag.count;
      else embedded += bag.count;
      examples[entry.split].push({ bag: { features: bag.features, patchCount: bag.count }, label: entry.label });
      if (entry.split === 'test') testSlides.push(entry.slide);
    } catch (error) {
      // A broken slide is reported with its reason, like the pipeline does; the task goes on.
      if (error instanceof PathgenError && !signal.aborted) {
        skipped.push({ slide: entry.slide, reason: `${error.code}: ${error.message}` });
        continue;
      }
      throw error;
    }
  }
  if (examples.train.length === 0 || examples.test.length === 0) {
    throw new PathgenError('InvalidDataset', `${task.splits}: no usable train or test slides`, {
      skipped,
      train: examples.train.length,
      test: examples.test.length,
    });
  }
  const trained = await trainAbmil(examples.train, {
    classCount: classNames.length,
    epochs: task.epochs,
    lr: task.lr,
    weightDecay: task.weightDecay,
    seed: task.seed,
    ...(examples.val.length > 0 ? { validation: examples.val } : {}),
    signal,
    onEpoch: async (epoch, loss) => {
      beat({ phase: 'training', epoch, epochs: task.epochs, loss });
      // Let the heartbeat timer run between epochs.
      await new Promise((resolve) => setImmediate(resolve));
    },
  });
  const predicted = await predictSlides(
    trained.model,
    examples.test.map((example) => example.bag),
  );
  const probabilities = predicted.flatMap((prediction) => prediction.probabilities);
  const labels = examples.test.map((example) => example.label);
  const predictions = argmaxRows(probabilities, classNames.length);
  const metrics = classificationMetrics(labels, predictions, classNames.length);
  return {
    result: {
      kind: 'slide',
      task: task.name,
      classes: classNames,
      auroc: macroAurocOvr(probabilities, labels, classNames.length, classNames),
      accuracy: metrics.accuracy,
      macroF1: metrics.macroF1,
      metrics,
      roc: rocCurvesOvr(probabilities, labels, classNames),
      slides: {
        train: examples.train.length,
        validation: examples.val.length,
        test: examples.test.length,
        skipped,
      },
    },
    model: loaded.identity,
    features: { embedded, cached },
  };
}

async function writeEvalReport(store: ObjectStore, report: EvalReport, prefix: string): Promise<WrittenReport> {
  const markdown = renderMarkdownReport(report);
  const plots: string[] = [];
  for (const [name, svg] of Object.entries(markdown.files)) {
    const key = `${prefix}${path.posix.basename(name)}`;
    await store.put(key, Buffer.from(svg), { contentType: 'image/svg+xml' });
    plots.push(key);
  }
  const keys = { json: `${prefix}report.json`, markdown: `${prefix}report.md`, html: `${prefix}report.html` };
  await store.put(keys.json, Buffer.from(`${JSON.stringify(report, null, 2)}\n`), { contentType: 'application/json' });
  await store.put(keys.markdown, Buffer.from(markdown.markdown), { contentType: 'text/markdown' });
  await store.put(keys.html, Buffer.from(renderHtmlReport(report)), { contentType: 'text/html' });
  return { ...keys, plots };
}
