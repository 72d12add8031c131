import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCodecsMissing } from '../../activities/wsi/native-codecs.js';
import { openSlide } from '../../activities/wsi/open-slide.js';
import { isSlideError } from '../../activities/wsi/slide-errors.js';
import {
  comparePixels,
  findOpenSlidePython,
  openSlideRegions,
  openSlideSkipReason,
  requirePython,
} from '../../infra/harness/openslide-reference.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import { writeJp2kSvsFrom } from './synthetic-jp2k-svs.js';

// A machine where the native codecs did not build (no compiler, no headers) still reads JPEG
// slides, through libvips, and says why JPEG 2000 needs more. The addon loads lazily, so pointing
// this process at a missing file before any read makes it such a machine.
process.env.PATHGEN_NATIVE_CODECS = '/nonexistent/pathgen-codecs.node';

const python = await findOpenSlidePython();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-no-native-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(openSlideSkipReason(python))('without the native codecs', () => {
  it('JPEG tiles (4:2:0 and Aperio RGB) read through libvips, equal to OpenSlide', async () => {
    expect(nativeCodecsMissing()).toMatch(/does not load/);
    for (const [n, jpegColour] of (['ycbcr-420', 'rgb'] as const).entries()) {
      const slide = await writeSyntheticSvs(join(dir, `${jpegColour}.svs`), {
        width: 1500,
        height: 1100,
        seed: n,
        jpegColour,
      });
      const reader = await openSlide(slide.path);
      try {
        expect(reader.decoder).toMatch(/^libvips \(sharp\)/);
        const regions = [
          { level: 0, x: 100, y: 80, width: 672, height: 672 },
          { level: 0, x: 1200, y: 900, width: 400, height: 300 },
        ];
        const expected = await openSlideRegions(requirePython(python), slide.path, regions);
        for (const [i, region] of regions.entries()) {
          const ours = await reader.read(0, region.x, region.y, region.width, region.height);
          const difference = comparePixels(ours.data, expected[i]!);
          expect(difference.maximum, `${jpegColour} ${JSON.stringify(region)}`).toBe(0);
          expect(difference.coverageMismatches).toBe(0);
        }
      } finally {
        await reader.close();
      }
    }
  });

  it('JPEG 2000 SVS with conversion off is UnsupportedFormat naming the missing decoder', async () => {
    const jpeg = await writeSyntheticSvs(join(dir, 'source.svs'), { width: 1200, height: 900, seed: 5 });
    const jp2k = join(dir, 'jp2k.svs');
    await writeJp2kSvsFrom(jpeg.path, jp2k);
    const error = await openSlide(jp2k, { allowConversion: false }).catch((e: unknown) => e);
    expect(isSlideError(error, 'UnsupportedFormat')).toBe(true);
    expect((error as Error).message).toMatch(/no native decoder.*pathgen-codecs\.node/);
  });
});
