import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { ClipModel } from '../activities/clip/clip-model.js';
import { PathgenError } from '../activities/common/errors.js';
import { measurementsVersion } from '../activities/histology/index.js';
import { noCheckpoint } from '../activities/select/batch-checkpoint.js';
import { clipPatchEmbedder, modelFreePatchEmbedder } from '../activities/select/patch-embedder.js';
import { selectSlide } from '../activities/select/select-slide.js';
import type { SelectProgress } from '../activities/select/select-slide.js';
import { selectionLines, selectionSummary } from '../activities/select/selection-record.js';
import { buildPromptSet } from '../activities/select/index.js';
import type { SelectionOptions } from '../activities/select/index.js';
import { openSlide } from '../activities/wsi/open-slide.js';
import type { PatchCandidate } from '../activities/wsi/patch-grid.js';
import { readCandidate } from '../activities/wsi/patch-reading.js';
import { parseCandidatesJsonl } from '../activities/wsi/tissue-patch-plan.js';

// `pathgen select`: the select stage on one slide, locally, for people tuning models and prompts.
// Writes DIR/patches/<x>_<y>.jpg, DIR/selection.jsonl (why each patch was kept) and DIR/summary.json.

export interface SelectLocallyOptions {
  slidePath: string;
  candidatesFile: string;
  outDir: string;
  project: string;
  findings: readonly string[];
  model?: ClipModel;
  selection: SelectionOptions;
  batchSize: number;
  /** CLIP mode: read candidates with JPEG tiles decoded at 1/n (config select.scaledDecode: 2). */
  scaleDenom?: number;
  jpegQuality: number;
  conversionCacheDir: string;
  onProgress?: (progress: SelectProgress) => void;
}

export async function selectLocally(options: SelectLocallyOptions): Promise<Record<string, unknown>> {
  const candidates = await readCandidatesFile(options.candidatesFile);
  const prompts = buildPromptSet({ project: options.project, findings: options.findings });
  const { model } = options;
  const embedder = model ? clipPatchEmbedder(model) : modelFreePatchEmbedder(measurementsVersion);
  const reader = await openSlide(options.slidePath, { conversionCacheDir: options.conversionCacheDir });
  try {
    const outcome = await selectSlide({
      reader,
      candidates,
      embedder,
      ...(model ? { scoring: { model, prompts } } : {}),
      batchSize: options.batchSize,
      ...(options.scaleDenom ? { scaleDenom: options.scaleDenom } : {}),
      checkpoint: noCheckpoint,
      selection: options.selection,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    await mkdir(path.join(options.outDir, 'patches'), { recursive: true });
    const files: string[] = [];
    for (const patch of outcome.selection.patches) {
      const candidate = candidates[patch.index]!;
      const image = await readCandidate(reader, candidate);
      const file = path.join('patches', `${candidate.x}_${candidate.y}.jpg`);
      await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
        .jpeg({ quality: options.jpegQuality, chromaSubsampling: '4:4:4' })
        .toFile(path.join(options.outDir, file));
      files.push(file);
    }
    await writeFile(path.join(options.outDir, 'selection.jsonl'), selectionLines(outcome.selection, candidates, files));
    const summary = {
      slide: options.slidePath,
      project: prompts.project,
      model: embedder.identity,
      prompts: { version: prompts.version, hash: prompts.hash, findings: prompts.findings },
      ...selectionSummary(outcome.selection),
      selected: files.length,
      out: options.outDir,
    };
    await writeFile(path.join(options.outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  } finally {
    await reader.close();
  }
}

async function readCandidatesFile(file: string): Promise<PatchCandidate[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PathgenError('InvalidInput', `cannot read candidates ${file}: ${(error as Error).message}`, { file });
  }
  return parseCandidatesJsonl(text, file);
}
