import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readClipModelDirectory } from '../../activities/clip/model-directory.js';
import { modelCacheKey } from '../../activities/eval/feature-cache.js';
import { writeTinyClipModel } from '../../workers/synthetic/clip-models/tiny-clip-model.js';

describe('the feature cache key of a model', () => {
  it('tells apart two models with the same name and version, and is stable for one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-feature-key-'));
    const key = async (seed: number) => {
      const folder = await writeTinyClipModel(path.join(dir, `m${seed}`), { seed, name: 'PathGen-CLIP', version: '1' });
      const model = await readClipModelDirectory(folder);
      return modelCacheKey(model);
    };
    const [first, second, again] = [await key(1), await key(2), await key(1)];
    expect(first).toMatch(/^PathGen-CLIP@1-[0-9a-f]{16}$/);
    expect(second).not.toBe(first);
    expect(again).toBe(first);
  });
});
