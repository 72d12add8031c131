import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { loadClipModel } from '../../../activities/clip/index.js';
import { preprocessImage } from '../../../activities/clip/preprocess.js';
import { decodeJpegToRgb } from '../../../activities/wsi/jpeg-tile.js';
import { requireTrainPython } from '../../../infra/harness/installed-tools.js';
import { runPython, tail, tinyTrainingArgs, trainerScript, writeSyntheticShards } from './train-python.js';

// The train stage end to end on the pinned Python side: shards written by our export writer,
// pathgen-tiny trained on them by open_clip through infra/train/pathgen_train.py, the checkpoint
// exported by infra/export-clip-onnx.py, and the model directory loaded by the select stage's
// loader. The TypeScript embedding of a JPEG (our PIL-exact preprocessing + the ONNX encoder) must
// equal open_clip's own (PIL + its transform + PyTorch) on the same file.

/** Seeded noise: fine detail on which a wrong resize or crop moves the embedding most. */
async function noiseJpeg(width: number, height: number, seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < pixels.length; i += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    pixels[i] = (state >>> 0) & 0xff;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i += 1) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

describe('pathgen-tiny: shards → open_clip training → ONNX export → our loader', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('embeds a JPEG and a text as open_clip does', { timeout: 600_000 }, async () => {
    requireTrainPython();
    const work = await mkdtemp(path.join(tmpdir(), 'pathgen-export-'));
    dirs.push(work);

    // (a) 32 samples in two shards, written by the export's shard writer.
    const trainData = await writeSyntheticShards(work, 32, 16);
    expect(path.basename(trainData)).toBe('shard-{000000..000001}.tar');

    // (b) two epochs of pathgen-tiny on CPU.
    const logs = path.join(work, 'logs');
    const train = await runPython([trainerScript, ...tinyTrainingArgs(trainData, 32, logs, 'tiny', 2)]);
    expect(train.code, `training failed:\n${tail(train.lines)}`).toBe(0);
    const checkpoints = path.join(logs, 'tiny/checkpoints');
    expect(train.events.filter((event) => event.kind === 'checkpointSaved')).toEqual([
      expect.objectContaining({ path: path.join(checkpoints, 'epoch_1.pt'), completedEpochs: 1 }),
      expect.objectContaining({ path: path.join(checkpoints, 'epoch_2.pt'), completedEpochs: 2 }),
    ]);
    expect(train.events.filter((event) => event.kind === 'progress').map((event) => event.epoch)).toEqual([0, 0, 1, 1]);
    expect(train.events.filter((event) => event.kind === 'error')).toEqual([]);

    // (c) the export, with its own onnxruntime-against-PyTorch check.
    const modelDir = path.join(work, 'model');
    const checkpoint = path.join(checkpoints, 'epoch_2.pt');
    const exported = await runPython([
      'infra/export-clip-onnx.py',
      ...['--model', 'pathgen-tiny', '--pretrained', checkpoint, '--out', modelDir],
      ...['--name', 'pathgen-tiny-test', '--version', '1'],
    ]);
    expect(exported.code, `export failed:\n${tail(exported.lines)}`).toBe(0);
    expect(exported.lines).toContainEqual(expect.stringContaining('image_encoder.onnx: matches PyTorch'));
    expect(exported.lines).toContainEqual(expect.stringContaining('text_encoder.onnx: matches PyTorch'));

    // (d) a probe that is neither 64 px nor square, so resize and centre crop both do work. On such
    // noise a bilinear resize instead of bicubic already gives a cosine near 0.9995.
    const probe = path.join(work, 'probe.jpg');
    await writeFile(probe, await noiseJpeg(96, 72, 7));
    const caption = 'an H&E image of lymphocytes';
    const reference = await runPython([
      'test/infra/train/open-clip-embed.py',
      'pathgen-tiny',
      checkpoint,
      probe,
      caption,
    ]);
    expect(reference.code, `the open_clip reference failed:\n${tail(reference.lines)}`).toBe(0);
    const json = reference.lines.find((line) => line.startsWith('{'));
    const expected = JSON.parse(json ?? 'null') as { image: number[]; text: number[] };

    const model = await loadClipModel(modelDir);
    try {
      expect(model.config).toMatchObject({ name: 'pathgen-tiny-test', embedDim: 64, contextLength: 77 });
      expect(model.config.preprocess).toMatchObject({
        imageSize: 64,
        resizeMode: 'shortest',
        interpolation: 'bicubic',
      });
      const decoded = await decodeJpegToRgb(await readFile(probe), 96 * 72);
      const image = await model.embedImages(preprocessImage(decoded, model.config.preprocess), 1);
      const text = await model.embedTexts([caption]);
      expect(expected.image).toHaveLength(64);
      expect(cosine(image, expected.image)).toBeGreaterThan(0.9999);
      expect(cosine(text, expected.text)).toBeGreaterThan(0.9999);
    } finally {
      await model.dispose();
    }
  });
});
