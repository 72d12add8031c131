import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../activities/wsi/run-command.js';
import {
  findOpenSlide4Python,
  findOpenSlidePython,
  openSlide4Hint,
  openSlide4SkipReason,
  openSlideMetadata,
  openSlideRegions,
  openSlideSkipReason,
  requirePython,
  type OpenSlideMetadata,
  type Region,
} from '../../infra/harness/openslide-reference.js';
import { writeSyntheticSvs, type SyntheticSlide } from '../../workers/synthetic/slides/synthetic-slides.js';
import { convertToJp2kSvs, type AperioJp2kCompression } from '../wsi/aperio-jp2k-svs.js';
import { writeDicomWsiFrom, type DicomWsiOptions } from '../wsi/dicom-wsi-fixture.js';

// The reference side of slide reading: OpenSlide 4 from .tools/python-ref, and the writers of the
// DICOM WSI and JPEG 2000 SVS test slides, each checked against OpenSlide on its JPEG source.
// Locally a missing environment skips (with the reason); in CI it fails.
const python4 = await findOpenSlide4Python();
const python3 = await findOpenSlidePython();
const skip = openSlide4SkipReason(python4);

async function libraryVersion(python: string): Promise<string> {
  const result = await runCommand(python, ['-c', 'import openslide; print(openslide.__library_version__)']);
  return result.stdout.trim();
}

/** Mean absolute RGB difference where both are opaque, and how many pixels `b` leaves transparent. */
function rgbaDifference(a: Buffer, b: Buffer): { meanAbsolute: number; transparent: number } {
  let sum = 0;
  let count = 0;
  let transparent = 0;
  for (let i = 0; i < b.length; i += 4) {
    if (b[i + 3] === 0) transparent++;
    if (a[i + 3] !== 255 || b[i + 3] !== 255) continue;
    for (let c = 0; c < 3; c++) sum += Math.abs(a[i + c]! - b[i + c]!);
    count += 3;
  }
  return { meanAbsolute: count === 0 ? NaN : sum / count, transparent };
}

let dir: string;
let svs: SyntheticSlide;
let reference: OpenSlideMetadata;
const wholeLevels: Region[] = [
  { level: 0, x: 0, y: 0, width: 2000, height: 1500 },
  { level: 1, x: 0, y: 0, width: 500, height: 375 },
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-openslide4-'));
  if (python4 === undefined) return;
  svs = await writeSyntheticSvs(join(dir, 'source.svs'), { width: 2000, height: 1500, seed: 7 });
  reference = await openSlideMetadata(python4, svs.path);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('OpenSlide 4 reference and test-slide writers', () => {
  it('finds OpenSlide 4 in the reference environment', async () => {
    const python = requirePython(python4, openSlide4Hint);
    expect(await libraryVersion(python)).toMatch(/^4\./);
    // The JPEG source as OpenSlide 4 sees it: label and macro named by NewSubfileType.
    expect(reference.vendor).toBe('aperio');
    expect(reference.dimensions).toEqual(svs.levels.map((l) => [l.width, l.height]));
    expect(Object.keys(reference.associated).sort()).toEqual(['label', 'macro', 'thumbnail']);
  });

  const dicomCases: { name: string; options: DicomWsiOptions; photometric: string; dropped: number }[] = [
    { name: 'full-jpeg', options: {}, photometric: 'RGB', dropped: 0 },
    {
      name: 'sparse-jpeg',
      // Tile (0, 0) is whole (240×240); (8, 6) is the bottom-right edge tile (80×60 inside the level).
      options: {
        tiling: 'sparse',
        dropTiles: [
          [0, 0],
          [8, 6],
        ],
        reverseFrames: true,
      },
      photometric: 'RGB',
      dropped: 240 * 240 + 80 * 60,
    },
    { name: 'full-jpeg2000', options: { frames: 'jpeg2000' }, photometric: 'YBR_ICT', dropped: 0 },
  ];

  it.each(dicomCases)('writes a DICOM WSI ($name) that OpenSlide 4 opens', async ({ name, options, ...want }) => {
    const python = requirePython(python4, openSlide4Hint);
    const dicom = await writeDicomWsiFrom(svs.path, join(dir, name), options);
    expect(dicom.levels.map((l) => l.photometric)).toEqual(Array<string>(3).fill(want.photometric));
    expect(dicom.levels[0]!.frames).toBe(63 - (options.dropTiles?.length ?? 0));
    expect(Object.keys(dicom.associated).sort()).toEqual(['label', 'overview', 'thumbnail']);

    const metadata = await openSlideMetadata(python, dicom.level0);
    expect(metadata.vendor).toBe('dicom');
    expect(metadata.levelCount).toBe(3);
    expect(metadata.dimensions).toEqual(reference.dimensions);
    expect(metadata.downsamples).toEqual(reference.downsamples);
    // PixelSpacing (mm) × 1000.
    expect(metadata.mppX).toBeCloseTo(reference.mppX!, 9);
    expect(metadata.mppY).toBeCloseTo(reference.mppY!, 9);
    expect(metadata.associated).toEqual(reference.associated);

    const ours = await openSlideRegions(python, dicom.level0, wholeLevels);
    const source = await openSlideRegions(python, svs.path, wholeLevels);
    const [level0, level1] = ours.map((pixels, i) => rgbaDifference(source[i]!, pixels));
    expect(level0!.transparent).toBe(want.dropped);
    expect(level1!.transparent).toBe(0);
    if (options.frames === undefined) {
      // JPEG frames are the SVS's tiles, copied: the same bytes decode to the same pixels.
      expect([level0!.meanAbsolute, level1!.meanAbsolute]).toEqual([0, 0]);
    } else {
      expect(level0!.meanAbsolute).toBeLessThan(3);
      expect(level1!.meanAbsolute).toBeLessThan(3);
    }
  });

  it('opens a level-0 DICOM file alone as a one-level slide', async () => {
    const python = requirePython(python4, openSlide4Hint);
    const dicom = await writeDicomWsiFrom(svs.path, join(dir, 'alone-series'));
    await mkdir(join(dir, 'alone'));
    await copyFile(dicom.level0, join(dir, 'alone', 'slide.dcm'));
    const metadata = await openSlideMetadata(python, join(dir, 'alone', 'slide.dcm'));
    expect(metadata).toMatchObject({ vendor: 'dicom', levelCount: 1, dimensions: [[2000, 1500]], associated: {} });
  });

  const svsCases: { compression: AperioJp2kCompression }[] = [{ compression: 33003 }, { compression: 33005 }];

  it.each(svsCases)('writes a JPEG 2000 SVS ($compression) that OpenSlide 4 opens', async ({ compression }) => {
    const python = requirePython(python4, openSlide4Hint);
    const path = join(dir, `jp2k-${compression}.svs`);
    await convertToJp2kSvs(svs.path, path, { compression });
    const metadata = await openSlideMetadata(python, path);
    expect(metadata).toEqual(reference);
    const ours = await openSlideRegions(python, path, wholeLevels);
    const source = await openSlideRegions(python, svs.path, wholeLevels);
    for (const [i, pixels] of ours.entries()) {
      const difference = rgbaDifference(source[i]!, pixels);
      expect(difference.transparent).toBe(0);
      expect(difference.meanAbsolute).toBeLessThan(3);
    }
  });

  // The system's python3-openslide (OpenSlide 3.4 on Debian 12) names associated pages by their
  // description and decodes 33003/33005 with the same tables.
  describe.skipIf(openSlideSkipReason(python3))('in the system OpenSlide too', () => {
    it.each(svsCases)('opens the JPEG 2000 SVS ($compression) with the same pixels', async ({ compression }) => {
      const python = requirePython(python3);
      const path = join(dir, `jp2k-${compression}-for-3.4.svs`);
      await convertToJp2kSvs(svs.path, path, { compression });
      const metadata = await openSlideMetadata(python, path);
      expect(metadata.vendor).toBe('aperio');
      expect(metadata.dimensions).toEqual(reference.dimensions);
      expect(Object.keys(metadata.associated).sort()).toEqual(['label', 'macro', 'thumbnail']);
      const [level0] = await openSlideRegions(python, path, wholeLevels.slice(0, 1));
      const [source] = await openSlideRegions(
        requirePython(python4, openSlide4Hint),
        svs.path,
        wholeLevels.slice(0, 1),
      );
      expect(rgbaDifference(source!, level0!).meanAbsolute).toBeLessThan(3);
    });
  });
});
