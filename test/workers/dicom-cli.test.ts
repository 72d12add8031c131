import { cp, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';
import { findOpenSlide4Python, openSlide4SkipReason } from '../../infra/harness/openslide-reference.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import { writeDicomWsiFrom, type DicomWsi } from '../wsi/dicom-wsi-fixture.js';

// `pathgen inspect` and `pathgen tile` given a DICOM series folder (written by wsidicomizer in
// .tools/python-ref, which also holds OpenSlide 4).

const skip = openSlide4SkipReason(await findOpenSlide4Python());

let dir: string;
let dicom: DicomWsi;

beforeAll(async () => {
  if (skip) return;
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-dicom-cli-'));
  const svs = await writeSyntheticSvs(path.join(dir, 'slide.svs'), { width: 2000, height: 1500, seed: 71 });
  dicom = await writeDicomWsiFrom(svs.path, path.join(dir, 'series'));
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('pathgen on a DICOM series folder', () => {
  it('inspect prints the series as one slide: levels by instance, mpp, associated images', async () => {
    const result = await runCli(['inspect', dicom.dir]);
    expect(result.code, result.stderr).toBe(0);
    const metadata = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(metadata).toMatchObject({ format: 'dicom', vendor: 'dicom', mpp: { x: 0.25, y: 0.25 } });
    expect(metadata.levels).toEqual([
      { width: 2000, height: 1500, downsample: 1, tileWidth: 240, tileHeight: 240, page: 0, instance: 'level-0.dcm' },
      { width: 500, height: 375, downsample: 4, tileWidth: 240, tileHeight: 240, page: 0, instance: 'level-1.dcm' },
      {
        width: 125,
        height: 93,
        downsample: (2000 / 125 + 1500 / 93) / 2,
        tileWidth: 240,
        tileHeight: 240,
        page: 0,
        instance: 'level-2.dcm',
      },
    ]);
    expect((metadata.associatedImages as { name: string }[]).map((image) => image.name).sort()).toEqual([
      'label',
      'macro',
      'thumbnail',
    ]);
  });

  it('tile exits 3 with a one-line reason for a folder of two series, and writes nothing', async () => {
    const folder = path.join(dir, 'two-series');
    await cp(dicom.dir, folder, { recursive: true });
    const other = await writeDicomWsiFrom(path.join(dir, 'slide.svs'), path.join(dir, 'other'), { seed: 'other' });
    await cp(other.level0, path.join(folder, 'other-level-0.dcm'));
    const out = path.join(dir, 'out');
    const result = await runCli(['tile', folder, '--out', out]);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^pathgen: SlideUnreadable: .*folder holds 2 DICOM whole-slide series, not one/);
    expect(existsSync(out)).toBe(false);
  });
});
