import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import pkg from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedClipModelCount, loadClipModel } from '../../activities/clip/clip-model.js';
import type { ClipModel } from '../../activities/clip/clip-model.js';
import { embedInBatches } from '../../activities/clip/embedding-pipeline.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { OnnxGraph, seededRandom } from '../../workers/synthetic/clip-models/onnx-graph.js';
import {
  tinyImageEncoder,
  tinyModelConfig,
  tinyModelFiles,
  writeTinyClipModel,
} from '../../workers/synthetic/clip-models/tiny-clip-model.js';
import { tinyHuggingFaceJson } from '../../workers/synthetic/clip-models/tiny-vocabulary.js';
import { vitB16ImageEncoder } from '../../workers/synthetic/clip-models/vit-b16-model.js';

const { onnx } = pkg;
const imageSize = 32;
const imageValues = 3 * imageSize * imageSize;

let root: string;
let modelDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pathgen-clip-model-'));
  modelDir = await writeTinyClipModel(join(root, 'tiny'), { seed: 7 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `count` seeded images, already in the model's NCHW layout; image i is the same for every call. */
function images(count: number, size = imageSize, seed = 3): Float32Array {
  const values = new Float32Array(count * 3 * size * size);
  for (let i = 0; i < count; i++) {
    const random = seededRandom(seed * 1000 + i);
    const offset = i * 3 * size * size;
    for (let j = 0; j < 3 * size * size; j++) values[offset + j] = random() * 4 - 2;
  }
  return values;
}

function rows(values: Float32Array, width: number): Float32Array[] {
  return Array.from({ length: values.length / width }, (_, i) => values.subarray(i * width, (i + 1) * width));
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * b[i]!, 0);

async function withModel<T>(
  source: Parameters<typeof loadClipModel>[0],
  options: Parameters<typeof loadClipModel>[1],
  use: (model: ClipModel) => Promise<T>,
): Promise<T> {
  const model = await loadClipModel(source, options);
  try {
    return await use(model);
  } finally {
    await model.dispose();
  }
}

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

describe('embedInBatches', () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('prepares batch i+1 while batch i runs', async () => {
    const report = await embedInBatches(
      Array.from({ length: 10 }, (_, i) => i),
      {
        batchSize: 3,
        prepare: async (batch) => {
          await sleep(30);
          return new Float32Array(batch.length);
        },
        run: async (pixels, count) => {
          await sleep(60);
          return new Float32Array(count * 2).fill(pixels.length);
        },
      },
    );
    expect(report.items).toBe(10);
    expect(report.batches.map((b) => b.count)).toEqual([3, 3, 3, 1]);
    for (let i = 0; i + 1 < report.batches.length; i++) {
      const current = report.batches[i]!;
      const following = report.batches[i + 1]!;
      expect(following.prepareStart).toBeLessThan(current.runEnd);
      expect(following.prepareStart).toBeGreaterThanOrEqual(current.runStart);
      expect(following.runStart).toBeGreaterThanOrEqual(current.runEnd);
    }
    // Only the first prepare ran with no run in flight.
    const first = report.batches[0]!;
    expect(report.totalMs - report.runMs).toBeGreaterThanOrEqual(first.prepareMs - 1);
    expect(report.outsideRunShare).toBeCloseTo((report.totalMs - report.runMs) / report.totalMs, 6);
  });

  it('feeds a real model and delivers every batch in order', async () => {
    const pixels = images(11);
    await withModel(modelDir, { batchSize: 4 }, async (model) => {
      const expected = await model.embedImages(pixels, 11);
      const received = new Float32Array(11 * 16);
      const order: number[] = [];
      async function* source() {
        for (let i = 0; i < 11; i++) yield await Promise.resolve(i);
      }
      await embedInBatches(source(), {
        batchSize: 4,
        prepare: (batch) => {
          const out = new Float32Array(batch.length * imageValues);
          batch.forEach((item, j) =>
            out.set(pixels.subarray(item * imageValues, (item + 1) * imageValues), j * imageValues),
          );
          return out;
        },
        run: (input, count) => model.embedImages(input, count),
        onBatch: (index, embeddings, items) => {
          order.push(index);
          received.set(embeddings, (items[0] ?? 0) * 16);
        },
      });
      expect(order).toEqual([0, 1, 2]);
      received.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 5));
    });
  });

  it('stops between batches when the signal is aborted, after the batch in preparation settles', async () => {
    const controller = new AbortController();
    const prepared: number[] = [];
    const ran: number[] = [];
    let settled = false;
    const run = embedInBatches([1, 2, 3, 4, 5, 6], {
      batchSize: 2,
      signal: controller.signal,
      prepare: async (batch) => {
        prepared.push(batch[0]!);
        await sleep(20);
        if (batch[0] === 3) settled = true;
        return new Float32Array(batch.length);
      },
      run: (_pixels, count) => {
        ran.push(count);
        return Promise.resolve(new Float32Array(count));
      },
      onBatch: () => controller.abort(new Error('cancelled by the test')),
    });
    await expect(run).rejects.toThrow('cancelled by the test');
    expect(ran).toEqual([2]);
    expect(prepared).toEqual([1, 3]);
    expect(settled).toBe(true);

    const before = new AbortController();
    before.abort(new Error('never started'));
    let calls = 0;
    await expect(
      embedInBatches([1], {
        batchSize: 1,
        signal: before.signal,
        prepare: () => {
          calls += 1;
          return new Float32Array(1);
        },
        run: () => Promise.resolve(new Float32Array(1)),
      }),
    ).rejects.toThrow('never started');
    expect(calls).toBe(0);
  });

  it('rejects when a run fails, once the next prepare has settled', async () => {
    let prepares = 0;
    await expect(
      embedInBatches([1, 2, 3], {
        batchSize: 1,
        prepare: async () => {
          prepares += 1;
          await sleep(5);
          if (prepares === 2) throw new Error('unreadable patch');
          return new Float32Array(1);
        },
        run: async () => {
          await sleep(1);
          throw new Error('device lost');
        },
      }),
    ).rejects.toThrow('device lost');
    expect(prepares).toBe(2);
  });

  it('rejects a batch size that is not a positive integer', async () => {
    await expect(
      embedInBatches([1], {
        batchSize: 0,
        prepare: () => new Float32Array(1),
        run: () => Promise.resolve(new Float32Array(1)),
      }),
    ).rejects.toMatchObject({ code: 'InvalidInput' });
  });
});

describe('vitB16ImageEncoder', () => {
  it('builds a ViT-B/16-sized encoder that onnxruntime runs', async () => {
    const bytes = vitB16ImageEncoder({ seed: 1 });
    const model = onnx.ModelProto.decode(bytes);
    const parameters = (model.graph?.initializer ?? []).reduce(
      (sum, tensor) => sum + (tensor.dims ?? []).reduce<number>((a, b) => a * Number(b), 1),
      0,
    );
    expect(parameters).toBeGreaterThan(85e6);
    expect(parameters).toBeLessThan(88e6);
    const session = await ort.InferenceSession.create(bytes);
    try {
      const output = await session.run({ pixel_values: new ort.Tensor('float32', images(1, 224), [1, 3, 224, 224]) });
      const embeds = output.image_embeds;
      expect(embeds?.dims).toEqual([1, 512]);
      expect(Array.from(embeds?.data as Float32Array).every(Number.isFinite)).toBe(true);
    } finally {
      await session.release();
    }
  });
});
