import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { loadClipModel } from '../clip/clip-model.js';
import { configFileName, readClipModelDirectory } from '../clip/model-directory.js';
import { modelPrefix } from '../contracts/keys.js';
import { getIfExists } from '../store/object-store.js';
import type { ObjectStore } from '../store/object-store.js';
import { clearFolder, downloadFile, uploadFile } from './checkpoints.js';
import { runTrainerProcess } from './trainer-process.js';

// The last step of a training: the final checkpoint → the CLIP model directory the select stage
// and the eval workflow load (ONNX encoders, tokenizer, config.json), registered in the store under
// a model id with its lineage. The directory is checked by loading it with onnxruntime-node, as a
// select worker would, before it is published; config.json and lineage.json go last, so a model
// id whose upload was cut short never looks complete.

export const lineageFileName = 'lineage.json';

export interface ExportModelInput {
  trainId: string;
  modelId: string;
  /** open_clip model name the checkpoint was trained as. */
  model: string;
  forceQuickGelu: boolean;
  checkpointKey: string;
  name: string;
  version: string;
  /** Written to models/<id>/lineage.json as given (the workflow assembles it). */
  lineage: Record<string, unknown>;
}

export interface ExportModelResult {
  modelId: string;
  /** Store prefix of the model directory: what `--model` / the select stage's `clipModel` takes. */
  modelRef: string;
  embedDim: number;
  imageSize: number;
  logitScale: number;
  /** False when the model was already registered by an earlier attempt. */
  written: boolean;
}

export interface ExportModelDeps {
  store: ObjectStore;
  workDir: string;
  tools: { python: string; exportScript: string };
}

export async function exportTrainedModel(
  deps: ExportModelDeps,
  input: ExportModelInput,
  signal: AbortSignal,
  onPhase: (phase: string) => void,
): Promise<ExportModelResult> {
  const { store } = deps;
  const prefix = modelPrefix(input.modelId);
  const existingLineage = await getIfExists(store, `${prefix}${lineageFileName}`);
  const existingConfig = await getIfExists(store, `${prefix}${configFileName}`);
  if (existingLineage && existingConfig) {
    const lineage = JSON.parse(existingLineage.toString('utf8')) as { checkpointKey?: string };
    if (lineage.checkpointKey === input.checkpointKey) {
      const config = JSON.parse(existingConfig.toString('utf8')) as {
        embedDim: number;
        logitScale: number;
        preprocess: { imageSize: number };
      };
      return {
        modelId: input.modelId,
        modelRef: prefix.replace(/\/$/, ''),
        embedDim: config.embedDim,
        imageSize: config.preprocess.imageSize,
        logitScale: config.logitScale,
        written: false,
      };
    }
  }

  onPhase('downloading-checkpoint');
  const checkpoint = path.join(deps.workDir, 'checkpoint', path.posix.basename(input.checkpointKey));
  await downloadFile(store, input.checkpointKey, checkpoint);
  const out = path.join(deps.workDir, 'model');
  await clearFolder(out);
  onPhase('exporting-onnx');
  await runTrainerProcess({
    command: deps.tools.python,
    args: [
      deps.tools.exportScript,
      ...['--model', input.model],
      ...['--pretrained', checkpoint],
      ...['--out', out],
      ...['--name', input.name],
      ...['--version', input.version],
      ...(input.forceQuickGelu ? ['--force-quick-gelu'] : []),
    ],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    signal,
  });

  onPhase('checking');
  const directory = await readClipModelDirectory(out);
  // The probe run inside loadClipModel is what a select worker would do first: a graph that cannot
  // run in onnxruntime-node fails here, not on the first slide.
  const model = await loadClipModel(out, { signal });
  await model.dispose();

  onPhase('uploading');
  const files = (await readdir(out)).filter((file) => file !== configFileName).sort();
  for (const file of files) await uploadFile(store, path.join(out, file), `${prefix}${file}`);
  await uploadFile(store, path.join(out, configFileName), `${prefix}${configFileName}`);
  await store.put(
    `${prefix}${lineageFileName}`,
    Buffer.from(`${JSON.stringify({ ...input.lineage, checkpointKey: input.checkpointKey }, null, 2)}\n`),
    { contentType: 'application/json' },
  );
  return {
    modelId: input.modelId,
    modelRef: prefix.replace(/\/$/, ''),
    embedDim: directory.config.embedDim,
    imageSize: directory.config.preprocess.imageSize,
    logitScale: directory.config.logitScale,
    written: true,
  };
}
