import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../activities/common/seeded-random.js';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { runCommand } from '../../activities/wsi/run-command.js';
import type { SlideReader } from '../../activities/wsi/slide-reader.js';
import { requireReferencePython } from '../../infra/harness/installed-tools.js';
import {
  comparePixels,
  findOpenSlide4Python,
  openSlide4Hint,
  openSlide4SkipReason,
  openSlideAssociatedImage,
  openSlideMetadata,
  openSlideRegions,
  requirePython,
  type Region,
} from '../../infra/harness/openslide-reference.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import { writeDicomWsiFrom, type DicomWsi } from './dicom-wsi-fixture.js';

// Our DICOM reader against OpenSlide 4.0 on series wsidicomizer wrote from our SVS slides: the
// same levels, sizes, downsamples, mpp and associated images, and the same pixels, whether the
// slide is given as its folder or as one of its files. OpenSlide opens a file (never a folder)
// and finds the rest of the series beside it.

const python = await findOpenSlide4Python();
const skip = openSlide4SkipReason(python);

let dir: string;
const series: Record<string, DicomWsi> = {};
/** Tiles the sparse series leaves out of level 0 (tile column, row). */
const dropped: [number, number][] = [
  [2, 1],
  [3, 3],
  [8, 6],
];

beforeAll(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'pathgen-dicom-'));
  const rgb = await writeSyntheticSvs(join(dir, 'rgb.svs'), { width: 2000, height: 1500, seed: 41 });
  const ycbcr = await writeSyntheticSvs(join(dir, 'ycc.svs'), {
    width: 2048,
    height: 1536,
    seed: 42,
    jpegColour: 'ycbcr',
  });
  series.jpegRgb = await writeDicomWsiFrom(rgb.path, join(dir, 'jpeg-rgb'));
  series.jpegYcbcr = await writeDicomWsiFrom(ycbcr.path, join(dir, 'jpeg-ycbcr'));
  series.sparse = await writeDicomWsiFrom(rgb.path, join(dir, 'sparse'), {
    tiling: 'sparse',
    dropTiles: dropped,
    reverseFrames: true,
  });
  series.jpeg2000 = await writeDicomWsiFrom(ycbcr.path, join(dir, 'j2k'), { frames: 'jpeg2000' });
  series.jpeg2000Lossless = await writeDicomWsiFrom(rgb.path, join(dir, 'j2k-lossless'), {
    frames: 'jpeg2000-lossless',
  });
  series.native = await nativeCopy(series.jpegYcbcr, join(dir, 'native'));
  for (const layout of ['no-bot', 'eot', 'fragments'] as const)
    series[layout] = await reencapsulated(series.jpegRgb, join(dir, layout), layout);
  // One instance alone in its folder: a slide of one level.
  await mkdir(join(dir, 'alone'));
  await copyFile(series.jpegRgb.level0, join(dir, 'alone', 'level-0.dcm'));
}, 120_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Every instance rewritten with uncompressed frames (Explicit VR Little Endian, RGB interleaved);
// level 0 also gets an objective power and unequal row and column spacing, which OpenSlide reports.
const nativeScript = `
import sys, imagecodecs, numpy, pydicom
from pydicom.encaps import generate_frames
from pydicom.uid import ExplicitVRLittleEndian
for src, dst in zip(sys.argv[1::2], sys.argv[2::2]):
    d = pydicom.dcmread(src)
    frames = [imagecodecs.jpeg8_decode(f) for f in generate_frames(d.PixelData, number_of_frames=int(d.NumberOfFrames))]
    d.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    d.PhotometricInterpretation = 'RGB'
    d.PixelData = numpy.stack(frames).astype(numpy.uint8).tobytes()
    d['PixelData'].VR = 'OB'
    if d.ImageType[2] == 'VOLUME' and d.TotalPixelMatrixColumns > 1000:
        d.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing = ['0.000251', '0.000249']
        d.OpticalPathSequence[0].ObjectiveLensPower = 20
    d.save_as(dst, enforce_file_format=True)
`;

async function nativeCopy(source: DicomWsi, outDir: string): Promise<DicomWsi> {
  await mkdir(outDir);
  const files = source.files.map((file) => join(outDir, basename(file)));
  const result = await runCommand(requireReferencePython(), [
    '-c',
    nativeScript,
    ...source.files.flatMap((file, i) => [file, files[i]!]),
  ]);
  if (result.code !== 0) throw new Error(`rewriting ${source.dir} uncompressed failed: ${result.stderr}`);
  return { ...source, dir: outDir, files, level0: join(outDir, basename(source.level0)) };
}

// Level 0 with its frames re-encapsulated: without an offset table (frames found by walking the
// items), with an Extended Offset Table (64-bit OV values), and three fragments per frame.
const encapsulationScript = `
import sys, pydicom
from pydicom.encaps import encapsulate, encapsulate_extended, generate_frames
src, dst, layout = sys.argv[1:4]
d = pydicom.dcmread(src)
frames = list(generate_frames(d.PixelData, number_of_frames=int(d.NumberOfFrames)))
if layout == 'no-bot':
    d.PixelData = encapsulate(frames, has_bot=False)
elif layout == 'eot':
    d.PixelData, d.ExtendedOffsetTable, d.ExtendedOffsetTableLengths = encapsulate_extended(frames)
else:
    d.PixelData = encapsulate(frames, fragments_per_frame=3, has_bot=True)
d.save_as(dst, enforce_file_format=True)
`;

async function reencapsulated(source: DicomWsi, outDir: string, layout: string): Promise<DicomWsi> {
  await cp(source.dir, outDir, { recursive: true });
  const level0 = join(outDir, basename(source.level0));
  const result = await runCommand(requireReferencePython(), ['-c', encapsulationScript, source.level0, level0, layout]);
  if (result.code !== 0) throw new Error(`re-encapsulating ${source.level0} (${layout}) failed: ${result.stderr}`);
  return { ...source, dir: outDir, level0, files: source.files.map((file) => join(outDir, basename(file))) };
}

/** Random 672×672 level-0 reads (some crossing an edge), reads across the edges, and a lower level. */
function regionsFor(reader: SlideReader, seed: number): Region[] {
  const random = seededRandom(seed);
  const { width, height } = reader.levels[0]!;
  const regions: Region[] = [];
  for (let i = 0; i < 8; i++) {
    regions.push({
      level: 0,
      x: Math.floor(random() * (width - 336)),
      y: Math.floor(random() * (height - 336)),
      width: 672,
      height: 672,
    });
  }
  regions.push(
    { level: 0, x: width - 100, y: height - 60, width: 300, height: 200 },
    { level: 0, x: -37, y: -20, width: 150, height: 90 },
    { level: 0, x: width + 10, y: 0, width: 64, height: 64 },
    { level: 0, x: 1, y: 3, width: 5, height: 7 },
  );
  if (reader.levels.length < 2) return regions;
  // Level 1 at level-0 points that are whole level-1 pixels, where OpenSlide does not interpolate.
  const ds = reader.levels[1]!.downsample;
  regions.push(
    { level: 1, x: ds * 17, y: ds * 9, width: 300, height: 200 },
    { level: 1, x: 0, y: 0, width: reader.levels[1]!.width + 20, height: reader.levels[1]!.height + 10 },
  );
  return regions;
}

async function expectSamePixels(name: string, slide: string, reference: string): Promise<void> {
  const reader = await openSlide(slide);
  try {
    const regions = regionsFor(reader, name.length * 7919);
    const theirs = await openSlideRegions(requirePython(python, openSlide4Hint), reference, regions);
    for (const [i, region] of regions.entries()) {
      const ours = await reader.read(region.level, region.x, region.y, region.width, region.height);
      const context = `${name} ${slide} region ${JSON.stringify(region)}`;
      const difference = comparePixels(ours.data, theirs[i]!);
      expect(difference.meanAbsolute, context).toBeLessThan(0.5);
      expect(difference.maximum, context).toBeLessThan(8);
      expect(difference.coverageMismatches, context).toBe(0);
      let transparent = 0;
      for (let p = 3; p < theirs[i]!.length; p += 4) if (theirs[i]![p] === 0) transparent++;
      expect(ours.outsidePixels, context).toBe(transparent);
    }
  } finally {
    await reader.close();
  }
}

async function expectSameMetadata(slide: string, reference: string): Promise<void> {
  const theirs = await openSlideMetadata(requirePython(python, openSlide4Hint), reference);
  const reader = await openSlide(slide);
  try {
    expect({ format: reader.format, vendor: reader.vendor }).toEqual({ format: 'dicom', vendor: theirs.vendor });
    expect(reader.levels.map((level) => [level.width, level.height])).toEqual(theirs.dimensions);
    expect(reader.levels.map((level) => level.downsample)).toEqual(theirs.downsamples);
    expect(reader.mpp).toEqual(theirs.mppX === null ? null : { x: theirs.mppX, y: theirs.mppY });
    expect(reader.objectivePower).toBe(theirs.objectivePower);
    const associated = Object.fromEntries(
      reader.associatedImages.map((image) => [image.name, [image.width, image.height]]),
    );
    expect(associated).toEqual(theirs.associated);
  } finally {
    await reader.close();
  }
}

describe.skipIf(skip)('DICOM whole-slide images read as OpenSlide 4 reads them', () => {
  const names = [
    'jpegRgb',
    'jpegYcbcr',
    'sparse',
    'jpeg2000',
    'jpeg2000Lossless',
    'native',
    'no-bot',
    'eot',
    'fragments',
  ];
  for (const name of names) {
    it(`${name}: metadata of the folder and of its level-0 file equal OpenSlide's`, async () => {
      const { dir: folder, level0 } = series[name]!;
      await expectSameMetadata(folder, level0);
      await expectSameMetadata(level0, level0);
    });

    it(`${name}: random level-0 reads, reads across the edges and level 1 equal OpenSlide's`, async () => {
      const { dir: folder, level0 } = series[name]!;
      await expectSamePixels(name, folder, level0);
      await expectSamePixels(name, series[name]!.files[1]!, level0);
    });
  }

  it('names the instance file of each level and takes mpp from level 0', async () => {
    const reader = await openSlide(series.jpegYcbcr!.dir);
    try {
      expect(reader.levels[0]).toMatchObject({ width: 2048, height: 1536, tileWidth: 240, instance: 'level-0.dcm' });
      expect(reader.levels.map((level) => level.instance)).toEqual(['level-0.dcm', 'level-1.dcm', 'level-2.dcm']);
      expect(reader.mpp).toEqual({ x: 0.25, y: 0.25 });
      expect(reader.associatedImages.map((image) => image.name).sort()).toEqual(['label', 'macro', 'thumbnail']);
    } finally {
      await reader.close();
    }
  });

  it('paints the tiles a TILED_SPARSE level lacks white and counts them', async () => {
    const reader = await openSlide(series.sparse!.dir);
    try {
      for (const [column, row] of dropped) {
        const tile = await reader.read(0, column * 240, row * 240, 240, 240);
        expect(tile.outsidePixels, `tile ${column},${row}`).toBe(240 * 240);
        expect(tile.data.every((value) => value === 255)).toBe(true);
      }
      expect((await reader.read(0, 240, 240, 240, 240)).outsidePixels).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('associated images equal OpenSlide’s', async () => {
    for (const name of ['jpegRgb', 'jpegYcbcr', 'jpeg2000', 'native']) {
      const { dir: folder, level0 } = series[name]!;
      const reader = await openSlide(folder);
      try {
        expect(reader.associatedImages.length).toBeGreaterThan(0);
        for (const { name: image, width, height } of reader.associatedImages) {
          const theirs = await openSlideAssociatedImage(requirePython(python, openSlide4Hint), level0, image);
          const ours = await reader.readAssociatedImage(image);
          expect([ours.width, ours.height]).toEqual([width, height]);
          const difference = comparePixels(ours.data, theirs);
          expect(difference.meanAbsolute, `${name} ${image}`).toBeLessThan(0.5);
          expect(difference.maximum, `${name} ${image}`).toBeLessThan(8);
        }
      } finally {
        await reader.close();
      }
    }
  });

  it('a folder with one level-0 instance is a one-level slide, as OpenSlide opens that file', async () => {
    const alone = join(dir, 'alone');
    await expectSameMetadata(alone, join(alone, 'level-0.dcm'));
    await expectSamePixels('alone', alone, join(alone, 'level-0.dcm'));
  });
});
