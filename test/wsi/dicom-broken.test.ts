import { cp, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';
import { seededRandom } from '../../activities/common/seeded-random.js';
import { assertSlideFileExists } from '../../activities/staging/slide-reference.js';
import { locateFrames } from '../../activities/wsi/dicom-frames.js';
import { readDicomInstance, type DicomInstance } from '../../activities/wsi/dicom-instance.js';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { RandomAccessFile } from '../../activities/wsi/random-access-file.js';
import { runCommand } from '../../activities/wsi/run-command.js';
import { isSlideError, type SlideErrorCode } from '../../activities/wsi/slide-errors.js';
import { requireReferencePython } from '../../infra/harness/installed-tools.js';
import { findOpenSlide4Python, openSlide4SkipReason } from '../../infra/harness/openslide-reference.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import { writeDicomWsiFrom, type DicomWsi } from './dicom-wsi-fixture.js';

// Broken DICOM slides fail with a typed slide error whose message says what is wrong and where:
// the frame, the instance, the transfer syntax, the series. Each case damages a copy of a series
// wsidicomizer wrote (in .tools/python-ref, with OpenSlide 4).

const skip = openSlide4SkipReason(await findOpenSlide4Python());

let dir: string;
let good: DicomWsi;
let other: DicomWsi;

beforeAll(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'pathgen-dicom-broken-'));
  const svs = await writeSyntheticSvs(join(dir, 'slide.svs'), { width: 2000, height: 1500, seed: 51 });
  good = await writeDicomWsiFrom(svs.path, join(dir, 'good'), { seed: 'first' });
  other = await writeDicomWsiFrom(svs.path, join(dir, 'other'), { seed: 'second' });
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A copy of the good series to damage. */
async function copyOfGood(name: string): Promise<string> {
  const copy = join(dir, name);
  await cp(good.dir, copy, { recursive: true });
  return copy;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error,
  );
}

async function expectTyped(promise: Promise<unknown>, code: SlideErrorCode, message: RegExp): Promise<void> {
  const error = await failure(promise);
  expect(isSlideError(error, code), String(error)).toBe(true);
  expect(error.message).toMatch(message);
}

/** Replaces one ASCII value of the file meta header (same length, so nothing moves). */
async function patchMeta(file: string, from: string, to: string): Promise<void> {
  const bytes = await readFile(file);
  const at = bytes.indexOf(Buffer.from(from, 'latin1'));
  expect(at, `${from} in ${file}`).toBeGreaterThan(128);
  Buffer.from(to, 'latin1').copy(bytes, at);
  await writeFile(file, bytes);
}

describe.skipIf(skip)('broken DICOM slides fail with a typed error that says what is wrong', () => {
  it('a corrupt frame: the read names the frame, its column and row, and the instance', async () => {
    const folder = await copyOfGood('corrupt-frame');
    const level0 = join(folder, 'level-0.dcm');
    const instance = (await readDicomInstance(level0)) as DicomInstance;
    const file = await RandomAccessFile.open(level0);
    const spans = await locateFrames(file, instance);
    await file.close();
    // The frame with the most bytes lies in tissue; overwrite the middle of its entropy-coded data.
    const frame = spans.byteCounts.indexOf(Math.max(...spans.byteCounts));
    const bytes = await readFile(level0);
    const random = seededRandom(7);
    const start = spans.offsets[frame]! + Math.floor(spans.byteCounts[frame]! * 0.3);
    for (let i = 0; i < Math.floor(spans.byteCounts[frame]! * 0.4); i++) bytes[start + i] = Math.floor(random() * 256);
    await writeFile(level0, bytes);

    const reader = await openSlide(folder);
    try {
      const column = frame % 9;
      const row = Math.floor(frame / 9);
      const message = new RegExp(
        `frame ${frame + 1} \\(column ${column}, row ${row}\\) of level-0\\.dcm failed to decode`,
      );
      await expectTyped(reader.read(0, column * 240, row * 240, 240, 240), 'SlideUnreadable', message);
      // The other frames still read.
      const elsewhere = frame === 0 ? 240 : 0;
      expect((await reader.read(0, elsewhere, 0, 240, 240)).outsidePixels).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('a truncated instance, given as the folder or as the file', async () => {
    const folder = await copyOfGood('truncated');
    const level0 = join(folder, 'level-0.dcm');
    const size = (await readFile(level0)).length;
    await truncate(level0, Math.floor(size * 0.6));
    await expectTyped(openSlide(folder), 'SlideUnreadable', /level-0\.dcm: file is truncated/);
    await expectTyped(openSlide(level0), 'SlideUnreadable', /level-0\.dcm: file is truncated/);
    // Cut inside its header, the instance cannot even say which series it belongs to.
    await truncate(level0, 2000);
    await expectTyped(openSlide(folder), 'SlideUnreadable', /level-0\.dcm: DICOM header is truncated or damaged/);
  });

  it('a folder with no DICOM file in it, and an empty folder', async () => {
    const folder = join(dir, 'no-dicom');
    await mkdir(folder);
    await writeFile(join(folder, 'notes.txt'), 'not a slide\n'.repeat(20));
    await writeFile(join(folder, 'level-0.dcm'), Buffer.alloc(400, 7));
    await expectTyped(openSlide(folder), 'SlideUnreadable', /folder holds no DICOM files \(2 files looked at\)/);
    await mkdir(join(dir, 'empty'));
    await expectTyped(openSlide(join(dir, 'empty')), 'SlideUnreadable', /folder holds no DICOM files \(0 files/);
  });

  it('an unsupported transfer syntax is named', async () => {
    const folder = await copyOfGood('jpeg-ls');
    // JPEG baseline → JPEG-LS lossless: the same length, so only the meta header changes.
    await patchMeta(join(folder, 'level-1.dcm'), '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.80');
    await expectTyped(
      openSlide(folder),
      'UnsupportedFormat',
      /level-1\.dcm: transfer syntax 1\.2\.840\.10008\.1\.2\.4\.80 \(JPEG-LS Lossless\) is not supported/,
    );
  });

  it('a DICOM file that is not a whole-slide image', async () => {
    const folder = await copyOfGood('not-wsi');
    const label = join(folder, 'label.dcm');
    // VL Whole Slide Microscopy Image Storage → VL Microscopic Image Storage.
    await patchMeta(label, '1.2.840.10008.5.1.4.1.1.77.1.6', '1.2.840.10008.5.1.4.1.1.77.1.2');
    await expectTyped(openSlide(label), 'UnsupportedFormat', /not a VL Whole Slide Microscopy image/);
    // Beside a whole-slide series it is ignored, as OpenSlide ignores it.
    const reader = await openSlide(folder);
    expect(reader.associatedImages.map((image) => image.name).sort()).toEqual(['macro', 'thumbnail']);
    await reader.close();
  });

  it('two series in one folder: the folder fails naming both, a file of either opens its own', async () => {
    const folder = await copyOfGood('two-series');
    for (const file of other.files) await cp(file, join(folder, `other-${file.split('/').pop()}`));
    const error = await failure(openSlide(folder));
    expect(isSlideError(error, 'SlideUnreadable'), String(error)).toBe(true);
    expect(error.message).toMatch(/folder holds 2 DICOM whole-slide series, not one/);
    expect(error.message).toMatch(
      /\(label\.dcm, level-0\.dcm, level-1\.dcm, level-2\.dcm, overview\.dcm, thumbnail\.dcm\)/,
    );
    expect(error.message).toMatch(/other-level-0\.dcm/);
    for (const file of ['level-1.dcm', 'other-level-1.dcm']) {
      const reader = await openSlide(join(folder, file));
      expect(reader.levels.map((level) => level.instance)).toEqual(
        file.startsWith('other')
          ? ['other-level-0.dcm', 'other-level-1.dcm', 'other-level-2.dcm']
          : ['level-0.dcm', 'level-1.dcm', 'level-2.dcm'],
      );
      await reader.close();
    }
  });

  it('a copied instance is ignored; two different instances of one level fail', async () => {
    const folder = await copyOfGood('duplicate-level');
    await cp(join(folder, 'level-0.dcm'), join(folder, 'level-0-copy.dcm'));
    const reader = await openSlide(folder);
    expect(reader.levels).toHaveLength(3);
    await reader.close();
    // The same level again under a new SOP Instance UID: not a copy, an image we do not understand.
    const script =
      'import sys, pydicom; d = pydicom.dcmread(sys.argv[1]); d.SOPInstanceUID = d.SOPInstanceUID + ".9"; d.save_as(sys.argv[1])';
    const result = await runCommand(requireReferencePython(), ['-c', script, join(folder, 'level-0-copy.dcm')]);
    expect(result.code, result.stderr).toBe(0);
    await expectTyped(
      openSlide(folder),
      'SlideUnreadable',
      /level-0-copy\.dcm and level-0\.dcm are different instances of the same 2000×1500 level/,
    );
  });

  it('a missing path is SlideNotFound when staged; a folder is a slide there', async () => {
    await expect(assertSlideFileExists(join(dir, 'nowhere'))).rejects.toThrow(PathgenError);
    await expect(assertSlideFileExists(join(dir, 'nowhere'))).rejects.toMatchObject({ code: 'SlideNotFound' });
    await expect(assertSlideFileExists(good.dir)).resolves.toBeUndefined();
  });
});
