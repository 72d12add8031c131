import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fetchClipModelDirectory,
  readClipModelDirectory,
  resolveClipModelDirectory,
} from '../../activities/clip/model-directory.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import {
  tinyModelConfig,
  tinyModelFiles,
  writeTinyClipModel,
} from '../../workers/synthetic/clip-models/tiny-clip-model.js';

let root: string;
let modelDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pathgen-model-dir-'));
  modelDir = await writeTinyClipModel(join(root, 'tiny'), { seed: 1 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A copy of the tiny model with `change` applied to its folder. */
async function variant(name: string, change: (dir: string) => Promise<void>): Promise<string> {
  const dir = await writeTinyClipModel(join(root, name), { seed: 1 });
  await change(dir);
  return dir;
}

async function withConfig(name: string, edit: (config: Record<string, unknown>) => void): Promise<string> {
  return variant(name, async (dir) => {
    const config = tinyModelConfig({ seed: 1 });
    edit(config);
    await writeFile(join(dir, tinyModelFiles.config), JSON.stringify(config));
  });
}

/** A store that counts the object reads that go through it. */
function countingStore(store: ObjectStore): { store: ObjectStore; reads: () => number } {
  let reads = 0;
  const counted: ObjectStore = Object.create(store) as ObjectStore;
  counted.get = (key) => {
    reads += 1;
    return store.get(key);
  };
  counted.getStream = (key, range) => {
    reads += 1;
    return store.getStream(key, range);
  };
  return { store: counted, reads: () => reads };
}

async function uploadModel(store: ObjectStore, prefix: string, dir: string): Promise<void> {
  for (const file of await readdir(dir)) await store.put(`${prefix}/${file}`, await readFile(join(dir, file)));
}

describe('readClipModelDirectory', () => {
  it('reads the config and resolves every file of a model directory', async () => {
    const directory = await readClipModelDirectory(modelDir);
    expect(directory.dir).toBe(modelDir);
    expect(directory.config).toEqual(tinyModelConfig({ seed: 1 }));
    expect(directory.imageEncoderPath).toBe(join(modelDir, 'image_encoder.onnx'));
    expect(directory.textEncoderPath).toBe(join(modelDir, 'text_encoder.onnx'));
    expect(directory.tokenizerPath).toBe(join(modelDir, 'bpe_simple_vocab_16e6.txt.gz'));
  });

  it('is ModelNotFound for a folder that does not exist', async () => {
    const missing = join(root, 'nowhere');
    await expect(readClipModelDirectory(missing)).rejects.toMatchObject({
      code: 'ModelNotFound',
      details: { dir: missing },
    });
  });

  it.each([tinyModelFiles.config, tinyModelFiles.imageEncoder, tinyModelFiles.textEncoder, tinyModelFiles.tokenizer])(
    'is ModelNotFound naming %s when it is missing',
    async (file) => {
      const dir = await variant(`missing-${file}`, (d) => rm(join(d, file)));
      const error = readClipModelDirectory(dir);
      await expect(error).rejects.toMatchObject({ code: 'ModelNotFound', details: { file } });
      await expect(error).rejects.toThrow(file);
    },
  );

  it('is ModelInvalid when config.json is not JSON', async () => {
    const dir = await variant('not-json', (d) => writeFile(join(d, 'config.json'), '{ "name": '));
    await expect(readClipModelDirectory(dir)).rejects.toMatchObject({
      code: 'ModelInvalid',
      details: { file: 'config.json' },
    });
  });

  it.each([
    ['embedDim', (c: Record<string, unknown>) => (c.embedDim = -16)],
    ['contextLength', (c: Record<string, unknown>) => (c.contextLength = 7.5)],
    ['logitScale', (c: Record<string, unknown>) => delete c.logitScale],
    ['tokenizer', (c: Record<string, unknown>) => (c.tokenizer = '../secrets.txt.gz')],
    [
      'preprocess.resizeMode',
      (c: Record<string, unknown>) => ((c.preprocess as Record<string, unknown>).resizeMode = 'crop'),
    ],
    [
      'preprocess.std.1',
      (c: Record<string, unknown>) => ((c.preprocess as Record<string, unknown>).std = [0.2, 0, 0.2]),
    ],
    [
      'imageEncoder.file',
      (c: Record<string, unknown>) => ((c.imageEncoder as Record<string, unknown>).file = '/abs.onnx'),
    ],
    ['', (c: Record<string, unknown>) => (c.normalise = true)],
  ])('is ModelInvalid naming the field %s', async (field, edit) => {
    const dir = await withConfig(`bad-${field || 'extra'}`, edit);
    const error = readClipModelDirectory(dir);
    await expect(error).rejects.toMatchObject({ code: 'ModelInvalid', details: { file: 'config.json', field } });
    if (field !== '') await expect(error).rejects.toThrow(field);
  });
});

describe('fetchClipModelDirectory', () => {
  it('copies a store prefix once and serves the cached copy while the objects are unchanged', async () => {
    const store = new FsObjectStore({ root: join(root, 'store-a') });
    await uploadModel(store, 'models/tiny', modelDir);
    const cacheDir = join(root, 'cache-a');
    const counted = countingStore(store);

    const first = await fetchClipModelDirectory(counted.store, 'models/tiny', cacheDir);
    expect(first.downloaded).toBe(true);
    expect(counted.reads()).toBe(4);
    for (const file of Object.values(tinyModelFiles)) {
      expect(await readFile(join(first.dir, file))).toEqual(await readFile(join(modelDir, file)));
    }

    const second = await fetchClipModelDirectory(counted.store, 'models/tiny/', cacheDir);
    expect(second).toEqual({ dir: first.dir, downloaded: false });
    expect(counted.reads()).toBe(4);
    expect((await readClipModelDirectory(second.dir)).config.name).toBe('tiny-clip');

    // A new export under the same prefix is a new cache folder.
    await store.put(
      'models/tiny/config.json',
      Buffer.from(JSON.stringify(tinyModelConfig({ seed: 1, version: '2.0.0' }))),
    );
    const third = await fetchClipModelDirectory(counted.store, 'models/tiny', cacheDir);
    expect(third.downloaded).toBe(true);
    expect(third.dir).not.toBe(first.dir);
    expect((await readClipModelDirectory(third.dir)).config.version).toBe('2.0.0');
    expect((await readdir(cacheDir)).sort()).toEqual(
      [first.dir, third.dir].map((d) => d.slice(cacheDir.length + 1)).sort(),
    );
  });

  it('lets concurrent downloads of the same model end in one folder', async () => {
    const store = new FsObjectStore({ root: join(root, 'store-b') });
    await uploadModel(store, 'm', modelDir);
    const cacheDir = join(root, 'cache-b');
    const results = await Promise.all([1, 2, 3].map(() => fetchClipModelDirectory(store, 'm', cacheDir)));
    expect(new Set(results.map((r) => r.dir)).size).toBe(1);
    expect(await readdir(cacheDir)).toHaveLength(1);
    expect((await readClipModelDirectory(results[0]!.dir)).config.embedDim).toBe(16);
  });

  it('is ModelNotFound for a prefix with no objects', async () => {
    const store = new FsObjectStore({ root: join(root, 'store-c') });
    await expect(
      resolveClipModelDirectory({ store, prefix: 'models/none', cacheDir: join(root, 'cache-c') }),
    ).rejects.toMatchObject({ code: 'ModelNotFound', details: { prefix: 'models/none' } });
  });

  it('stops between objects when the signal is aborted', async () => {
    const store = new FsObjectStore({ root: join(root, 'store-d') });
    await uploadModel(store, 'm', modelDir);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const cacheDir = join(root, 'cache-d');
    await expect(fetchClipModelDirectory(store, 'm', cacheDir, controller.signal)).rejects.toThrow('stop');
    expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
  });
});
