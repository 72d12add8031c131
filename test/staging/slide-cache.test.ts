import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { parseSlideReference } from '../../activities/staging/slide-reference.js';
import { describeSlideCache } from './slide-cache-contract.js';

const newStore = () =>
  Promise.resolve(new FsObjectStore({ root: mkdtempSync(path.join(os.tmpdir(), 'pathgen-store-')) }));

describeSlideCache('an fs store', newStore);

describe('parseSlideReference', () => {
  it('tells local files from store keys', async () => {
    const store = await newStore();
    expect(parseSlideReference('file:///data/a.svs', store)).toEqual({ kind: 'local', path: '/data/a.svs' });
    expect(parseSlideReference('/data/a.svs', store)).toEqual({ kind: 'local', path: '/data/a.svs' });
    expect(parseSlideReference('./package.json', store)).toEqual({
      kind: 'local',
      path: path.join(process.cwd(), 'package.json'),
    });
    expect(parseSlideReference('slides/tcga/a.svs', store)).toEqual({ kind: 'store', key: 'slides/tcga/a.svs' });
  });

  it('rejects other buckets and unknown schemes with a typed error', async () => {
    const store = await newStore();
    expect(() => parseSlideReference('s3://other/a.svs', store)).toThrow(/outside the configured store/);
    expect(() => parseSlideReference('gs://bucket/a.svs', store)).toThrow(/unsupported slide URI scheme/);
    expect(() => parseSlideReference('  ', store)).toThrow(/empty slide reference/);
  });
});
