import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSlidePath } from '../../activities/staging/local-slide.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import type { ObjectStore } from '../../activities/store/object-store.js';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { tileSlideToDirectory } from '../../activities/wsi/tissue-patch-plan.js';
import { findOpenSlide4Python, openSlide4SkipReason } from '../../infra/harness/openslide-reference.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import { writeDicomWsiFrom, type DicomWsi } from './dicom-wsi-fixture.js';

// The tile stage's domain entry on a DICOM series folder. wsidicomizer copies the SVS's JPEG tiles
// as the frames, so tiling the folder must give exactly what tiling the SVS gives: the same
// candidates and the same lossless patches. And the folder as the stage stages it from a store.

const skip = openSlide4SkipReason(await findOpenSlide4Python());

let dir: string;
let svs: string;
let dicom: DicomWsi;

beforeAll(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'pathgen-dicom-tile-'));
  svs = (await writeSyntheticSvs(join(dir, 'slide.svs'), { width: 3000, height: 2200, seed: 62, blobs: 3 })).path;
  dicom = await writeDicomWsiFrom(svs, join(dir, 'series'));
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('tileSlideToDirectory on a DICOM series', () => {
  it('writes the candidates and patches the same slide as an SVS gives', async () => {
    const fromDicom = await tileSlideToDirectory(dicom.dir, join(dir, 'out-dicom'), { writePatches: true });
    const fromSvs = await tileSlideToDirectory(svs, join(dir, 'out-svs'), { writePatches: true });
    expect(fromDicom.candidates).toBeGreaterThan(0);
    expect({ ...fromDicom, outDir: '' }).toEqual({ ...fromSvs, outDir: '' });
    const candidates = await readFile(join(dir, 'out-dicom', 'candidates.jsonl'), 'utf8');
    expect(candidates).toBe(await readFile(join(dir, 'out-svs', 'candidates.jsonl'), 'utf8'));
    const patches = (await readdir(join(dir, 'out-dicom', 'patches'))).sort();
    expect(patches).toHaveLength(fromDicom.patchesWritten);
    expect(patches).toEqual((await readdir(join(dir, 'out-svs', 'patches'))).sort());
    for (const patch of patches) {
      const ours = await readFile(join(dir, 'out-dicom', 'patches', patch));
      expect(ours.equals(await readFile(join(dir, 'out-svs', 'patches', patch))), patch).toBe(true);
    }
    const metadata = JSON.parse(await readFile(join(dir, 'out-dicom', 'metadata.json'), 'utf8')) as {
      slide: { format: string; vendor: string; mpp: unknown; levels: { instance: string }[] };
    };
    expect(metadata.slide).toMatchObject({ format: 'dicom', vendor: 'dicom', mpp: { x: 0.25, y: 0.25 } });
    expect(metadata.slide.levels.map((level) => level.instance)).toEqual(['level-0.dcm', 'level-1.dcm', 'level-2.dcm']);
  });

  it('a series folder in the store is staged as one folder and opens as the slide', async () => {
    const store = new FsObjectStore({ root: join(dir, 'store') });
    for (const file of dicom.files) await store.put(`slides/series-1/${basename(file)}`, await readFile(file));
    // The fs store seen as a remote one, so the folder is staged, not read in place.
    const remote = Object.create(store) as ObjectStore;
    Object.defineProperty(remote, 'localFile', { value: undefined });
    const deps = { store: remote, slideCacheDir: join(dir, 'cache'), slideCacheMaxBytes: 1e9 };
    const staged = await localSlidePath(deps, 'slides/series-1/', new AbortController().signal);
    const [fromStore, original] = await Promise.all([openSlide(staged), openSlide(dicom.dir)]);
    try {
      expect(fromStore.levels).toEqual(original.levels);
      const [a, b] = await Promise.all([fromStore.read(0, 300, 200, 672, 672), original.read(0, 300, 200, 672, 672)]);
      expect(a.data.equals(b.data)).toBe(true);
    } finally {
      await Promise.all([fromStore.close(), original.close()]);
    }
  });
});
