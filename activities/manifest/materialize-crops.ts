import sharp from 'sharp';
import { materializeKeys } from '../contracts/keys.js';
import type { SampleRef } from '../contracts/slide-record.js';
import { forEachBounded } from '../export/store-upload.js';
import type { ObjectStore } from '../store/object-store.js';
import type { SlideReader } from '../wsi/slide-reader.js';
import type { PatchCandidate } from '../wsi/patch-grid.js';
import { readPatches } from '../wsi/patch-reading.js';
import type { MaterializePatch } from './materialize-groups.js';

// Materialize mode's crops: each listed level-0 position of one slide becomes a JPEG beside a caption
// record, resumably (positions before `resumeFrom`, and any whose two objects are stored, are kept).

export const positionOutsideSlide = 'PositionOutsideSlide';
export const duplicatePosition = 'DuplicatePosition';
const jpegQuality = 95;

export interface CropOptions {
  store: ObjectStore;
  reader: SlideReader;
  /** The slide's positions in source order, repeats removed. */
  patches: readonly MaterializePatch[];
  prefix: string;
  slideId: string;
  patchSize: number;
  /** Every position before this index was finished by an earlier attempt. */
  resumeFrom: number;
  signal: AbortSignal;
  /** After each crop: every position before `next` is done; `written` counts reused ones too. */
  onProgress: (next: number, written: number) => void;
}

export interface CropOutcome {
  samples: SampleRef[];
  failures: Record<string, number>;
  reused: number;
  written: number;
}

export async function cropListedPositions(options: CropOptions): Promise<CropOutcome> {
  const { store, reader, patches, prefix, slideId, patchSize, signal } = options;
  const samples: SampleRef[] = [];
  const failures: Record<string, number> = {};
  let reused = 0;
  const level0 = reader.levels[0] as { width: number; height: number };
  const mpp = reader.mpp === null ? undefined : (reader.mpp.x + reader.mpp.y) / 2;

  const toCheck: Array<{ index: number; sample: SampleRef & { recordKey: string } }> = [];
  for (const [index, patch] of patches.entries()) {
    const id = `${patch.x}_${patch.y}`;
    const base = { id, x: patch.x, y: patch.y, level: 0, size: patchSize, ...(mpp !== undefined ? { mpp } : {}) };
    const jpegKey = materializeKeys.crop(prefix, slideId, id);
    if (patch.x + patchSize > level0.width || patch.y + patchSize > level0.height) {
      const reason =
        `a ${patchSize}×${patchSize} crop at ${patch.x},${patch.y} does not fit in the slide's level 0 ` +
        `(${level0.width}×${level0.height})`;
      samples.push({ ...base, jpegKey, failure: { agent: 'materialize', code: positionOutsideSlide, reason } });
      failures[positionOutsideSlide] = (failures[positionOutsideSlide] ?? 0) + 1;
      continue;
    }
    const sample = { ...base, jpegKey, recordKey: materializeKeys.record(prefix, slideId, id) };
    samples.push(sample);
    if (index < options.resumeFrom) reused += 1;
    else toCheck.push({ index, sample });
  }

  // Positions an earlier attempt finished after its last recorded heartbeat are found in the store.
  const done = new Set<number>();
  await forEachBounded(toCheck, 16, async ({ index, sample }) => {
    if ((await store.exists(sample.jpegKey)) && (await store.exists(sample.recordKey))) done.add(index);
  });
  reused += done.size;
  const todo = toCheck.filter(({ index }) => !done.has(index));
  const candidates: PatchCandidate[] = todo.map(({ sample }) => ({
    x: sample.x,
    y: sample.y,
    level: 0,
    width: patchSize,
    height: patchSize,
    tissue: 1,
  }));
  let written = reused;
  options.onProgress(todo[0]?.index ?? patches.length, written);
  for await (const { index, image } of readPatches(reader, candidates, { signal })) {
    const { index: position, sample } = todo[index] as (typeof todo)[number];
    const jpeg = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .jpeg({ quality: jpegQuality, chromaSubsampling: '4:4:4' })
      .toBuffer();
    await store.put(sample.jpegKey, jpeg, { contentType: 'image/jpeg' });
    const caption = (patches[position] as MaterializePatch).caption;
    await store.put(sample.recordKey, Buffer.from(`${JSON.stringify({ caption, source: 'pathgen-json' })}\n`), {
      contentType: 'application/json',
    });
    written += 1;
    options.onProgress(position + 1, written);
  }
  return { samples, failures, reused, written };
}
