import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import pkg from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedInBatches } from '../../activities/clip/embedding-pipeline.js';
import { writeTinyClipModel } from '../../workers/synthetic/clip-models/tiny-clip-model.js';
import { vitB16ImageEncoder } from '../../workers/synthetic/clip-models/vit-b16-model.js';
import { imageValues, images, withModel } from './clip-test-inputs.js';

const { onnx } = pkg;

// embedInBatches, the pipeline that overlaps preparing a batch with running the one before, and
// the ViT-B/16-sized encoder the benchmarks load.

let root: string;
let modelDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pathgen-embedding-pipeline-'));
  modelDir = await writeTinyClipModel(join(root, 'tiny'), { seed: 7 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
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
