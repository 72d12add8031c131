import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pkg from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedClipModelCount, loadClipModel } from '../../activities/clip/clip-model.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { OnnxGraph } from '../../workers/synthetic/clip-models/onnx-graph.js';
import {
  tinyImageEncoder,
  tinyModelConfig,
  tinyModelFiles,
  writeTinyClipModel,
} from '../../workers/synthetic/clip-models/tiny-clip-model.js';
import { tinyHuggingFaceJson } from '../../workers/synthetic/clip-models/tiny-vocabulary.js';
import { dot, imageSize, imageValues, images, rows, withModel } from './clip-test-inputs.js';

const { onnx } = pkg;

let root: string;
let modelDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pathgen-clip-model-'));
  modelDir = await writeTinyClipModel(join(root, 'tiny'), { seed: 7 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function copyOfModel(name: string, change: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(root, name);
  await cp(modelDir, dir, { recursive: true });
  await change(dir);
  return dir;
}

describe('loadClipModel', () => {
  it('embeds images and texts as unit rows of embedDim, the same on every run', async () => {
    await withModel(modelDir, {}, async (model) => {
      expect(model.config.embedDim).toBe(16);
      expect(model.executionProvider).toBe('cpu');
      const pixels = images(5);
      const embeddings = await model.embedImages(pixels, 5);
      expect(embeddings).toHaveLength(5 * 16);
      for (const row of rows(embeddings, 16)) expect(dot(row, row)).toBeCloseTo(1, 5);
      expect(await model.embedImages(pixels, 5)).toEqual(embeddings);

      const texts = await model.embedTexts(['the cells', 'tumor cells', 'the cells', 'a '.repeat(200)]);
      expect(texts).toHaveLength(4 * 16);
      const [a, b, c, d] = rows(texts, 16) as [Float32Array, Float32Array, Float32Array, Float32Array];
      for (const row of [a, b, c, d]) expect(dot(row, row)).toBeCloseTo(1, 5);
      expect(c).toEqual(a);
      expect(dot(a, b)).toBeLessThan(0.999);
      expect(dot(a, d)).toBeLessThan(0.999);
    });
  });

  it('gives different images different embeddings and identical images cosine 1', async () => {
    await withModel(modelDir, {}, async (model) => {
      const pixels = images(3);
      pixels.copyWithin(2 * imageValues, 0, imageValues);
      const [first, second, copy] = rows(await model.embedImages(pixels, 3), 16) as [
        Float32Array,
        Float32Array,
        Float32Array,
      ];
      expect(dot(first, copy)).toBeCloseTo(1, 6);
      expect(dot(first, second)).toBeLessThan(0.99);
    });
  });

  it('gives the same embeddings whatever the batch size', async () => {
    const pixels = images(10);
    const one = await withModel(modelDir, { batchSize: 1 }, (model) => model.embedImages(pixels, 10));
    const seven = await withModel(modelDir, { batchSize: 7 }, (model) => model.embedImages(pixels, 10));
    expect(seven).toHaveLength(one.length);
    seven.forEach((value, i) => expect(value).toBeCloseTo(one[i]!, 5));
    const texts = ['the', 'cells', 'tumor', "the tumor's cells", 'is', '...', 'x', 'the cells'];
    const oneText = await withModel(modelDir, { batchSize: 1 }, (model) => model.embedTexts(texts));
    const sevenText = await withModel(modelDir, { batchSize: 7 }, (model) => model.embedTexts(texts));
    sevenText.forEach((value, i) => expect(value).toBeCloseTo(oneText[i]!, 5));
  });

  it('answers empty inputs with empty outputs and rejects pixels of the wrong length', async () => {
    await withModel(modelDir, {}, async (model) => {
      expect(await model.embedImages(new Float32Array(0), 0)).toEqual(new Float32Array(0));
      expect(await model.embedTexts([])).toEqual(new Float32Array(0));
      await expect(model.embedImages(images(2), 3)).rejects.toMatchObject({ code: 'InvalidInput' });
    });
  });

  it('shares one pair of sessions between the handles of a model until the last is disposed', async () => {
    const before = cachedClipModelCount();
    const first = await loadClipModel(modelDir);
    const second = await loadClipModel(modelDir, { batchSize: 2 });
    expect(cachedClipModelCount()).toBe(before + 1);
    await first.dispose();
    await first.dispose();
    expect(await second.embedImages(images(3), 3)).toHaveLength(48);
    await expect(first.embedImages(images(1), 1)).rejects.toMatchObject({ code: 'ModelUnavailable' });
    await second.dispose();
    expect(cachedClipModelCount()).toBe(before);
  });

  it('keeps this thread free while the encoder runs', async () => {
    const dir = await writeTinyClipModel(join(root, 'tiny-336'), { seed: 7, imageSize: 336 });
    await withModel(dir, { batchSize: 48, intraOpNumThreads: 1 }, async (model) => {
      let ticks = 0;
      const timer = setInterval(() => (ticks += 1), 1);
      const started = performance.now();
      try {
        await model.embedImages(images(48, 336), 48);
      } finally {
        clearInterval(timer);
      }
      // A session on this thread would run in one synchronous call and let no timer fire.
      expect(performance.now() - started).toBeGreaterThan(10);
      expect(ticks).toBeGreaterThan(0);
    });
  });

  it('warns and runs on the CPU when CUDA is asked for and missing', async () => {
    const warnings: string[] = [];
    const pixels = images(2);
    const cpu = await withModel(modelDir, {}, (model) => model.embedImages(pixels, 2));
    const fallback = await withModel(
      modelDir,
      { executionProviders: ['cuda', 'cpu'], onWarning: (message) => warnings.push(message), ortLogLevel: 'fatal' },
      async (model) => {
        expect(model.executionProvider).toBe('cpu');
        return model.embedImages(pixels, 2);
      },
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/CUDA.*CPU/);
    expect(fallback).toEqual(cpu);
  });

  it('refuses to run on the CPU when the providers name CUDA without cpu', async () => {
    const warnings: string[] = [];
    const before = cachedClipModelCount();
    const failure = await loadClipModel(modelDir, {
      executionProviders: ['cuda'],
      onWarning: (message) => warnings.push(message),
      ortLogLevel: 'fatal',
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'ProviderUnavailable' });
    expect((failure as Error).message).toMatch(
      /CUDA.*; select\.executionProviders is \[cuda\] without cpu, so CLIP does not fall back to the CPU \(add cpu to allow it\)$/,
    );
    expect(warnings).toEqual([]);
    expect(cachedClipModelCount()).toBe(before);
  });

  it('reads a Hugging Face tokenizer.json as well as the open_clip vocabulary', async () => {
    const dir = await copyOfModel('hf-tokenizer', async (d) => {
      await rm(join(d, tinyModelFiles.tokenizer));
      await writeFile(join(d, 'tokenizer.json'), JSON.stringify(tinyHuggingFaceJson()));
      await writeFile(
        join(d, 'config.json'),
        JSON.stringify({ ...tinyModelConfig({ seed: 7 }), tokenizer: 'tokenizer.json' }),
      );
    });
    const texts = ["the tumor's cells", 'cells ...'];
    const fromBpe = await withModel(modelDir, {}, (model) => model.embedTexts(texts));
    const fromJson = await withModel(dir, {}, (model) => model.embedTexts(texts));
    expect(fromJson).toEqual(fromBpe);
  });

  it('loads a model from a store prefix and does not download it again', async () => {
    const store = new FsObjectStore({ root: join(root, 'store') });
    for (const file of await readdir(modelDir))
      await store.put(`models/tiny/${file}`, await readFile(join(modelDir, file)));
    let reads = 0;
    const counted = Object.create(store) as ObjectStore;
    counted.getStream = (key, range) => {
      reads += 1;
      return store.getStream(key, range);
    };
    const source = { store: counted, prefix: 'models/tiny', cacheDir: join(root, 'model-cache') };
    const local = await withModel(modelDir, {}, (model) => model.embedTexts(['the tumor']));
    const first = await withModel(source, {}, (model) => model.embedTexts(['the tumor']));
    expect(reads).toBe(4);
    const second = await withModel(source, {}, async (model) => {
      expect(model.dir.startsWith(join(root, 'model-cache'))).toBe(true);
      return model.embedTexts(['the tumor']);
    });
    expect(reads).toBe(4);
    expect(first).toEqual(local);
    expect(second).toEqual(local);
  });
});

describe('loadClipModel on a broken model', () => {
  it('is ModelInvalid naming the file when an encoder is not ONNX', async () => {
    const dir = await copyOfModel('corrupt', (d) =>
      writeFile(join(d, 'text_encoder.onnx'), Buffer.from('not a model')),
    );
    const error = loadClipModel(dir);
    await expect(error).rejects.toMatchObject({ code: 'ModelInvalid', details: { file: 'text_encoder.onnx' } });
    await expect(error).rejects.toThrow('text_encoder.onnx');
  });

  it('is ModelInvalid when the encoder output is not embedDim wide', async () => {
    const dir = await copyOfModel('wide', (d) =>
      writeFile(join(d, 'config.json'), JSON.stringify({ ...tinyModelConfig({ seed: 7 }), embedDim: 8 })),
    );
    await expect(loadClipModel(dir)).rejects.toMatchObject({ code: 'ModelInvalid', details: { field: 'embedDim' } });
  });

  it('is ModelInvalid when the width is only known once the encoder runs', async () => {
    // The same encoder, its output declared [batch, width] with both dimensions symbolic.
    const dir = await copyOfModel('symbolic', async (d) => {
      const model = onnx.ModelProto.decode(tinyImageEncoder(7, imageSize, 16));
      const output = model.graph?.output?.[0]?.type?.tensorType?.shape?.dim?.[1];
      if (!output) throw new Error('tiny image encoder has no output shape');
      output.dimValue = null;
      output.dimParam = 'width';
      await writeFile(join(d, 'image_encoder.onnx'), onnx.ModelProto.encode(model).finish());
      await writeFile(join(d, 'config.json'), JSON.stringify({ ...tinyModelConfig({ seed: 7 }), embedDim: 12 }));
    });
    await expect(loadClipModel(dir)).rejects.toMatchObject({
      code: 'ModelInvalid',
      details: { file: 'image_encoder.onnx', field: 'embedDim' },
    });
  });

  it('is ModelInvalid when the config names an input the encoder lacks or another image size', async () => {
    const config = tinyModelConfig({ seed: 7 });
    const renamed = await copyOfModel('renamed', (d) =>
      writeFile(
        join(d, 'config.json'),
        JSON.stringify({ ...config, imageEncoder: { ...(config.imageEncoder as object), input: 'pixels' } }),
      ),
    );
    await expect(loadClipModel(renamed)).rejects.toMatchObject({
      code: 'ModelInvalid',
      details: { field: 'imageEncoder.input' },
    });
    const resized = await copyOfModel('resized', (d) =>
      writeFile(
        join(d, 'config.json'),
        JSON.stringify({ ...config, preprocess: { ...(config.preprocess as object), imageSize: 64 } }),
      ),
    );
    await expect(loadClipModel(resized)).rejects.toMatchObject({ code: 'ModelInvalid' });
  });

  it('is ModelInvalid when the text encoder cannot read the tokenizer ids', async () => {
    // An embedding table of 100 rows: the tokenizer's end token (530) is out of range.
    const dir = await copyOfModel('small-vocabulary', async (d) => {
      const g = new OnnxGraph('short_table');
      const ids = g.input('input_ids', 'int64', ['batch', 77]);
      const table = g.tensor(new Float32Array(100 * 16).fill(1), [100, 16]);
      const pooled = g.op('ReduceMean', [g.op('Gather', [table, ids])], {
        axes: { kind: 'ints', value: [1] },
        keepdims: { kind: 'int', value: 0 },
      });
      g.output(g.op('Identity', [pooled], {}, 'text_embeds'), 'float32', ['batch', 16]);
      await writeFile(join(d, 'text_encoder.onnx'), g.encode());
    });
    await expect(loadClipModel(dir, { ortLogLevel: 'fatal' })).rejects.toMatchObject({
      code: 'ModelInvalid',
      details: { file: 'text_encoder.onnx' },
    });
  });

  it('is ModelInvalid when the tokenizer file is not a vocabulary', async () => {
    const dir = await copyOfModel('bad-tokenizer', (d) => writeFile(join(d, tinyModelFiles.tokenizer), 'plain text'));
    await expect(loadClipModel(dir)).rejects.toMatchObject({
      code: 'ModelInvalid',
      details: { file: tinyModelFiles.tokenizer },
    });
  });
});
