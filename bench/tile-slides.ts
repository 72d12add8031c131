import { join } from 'node:path';
import { writeSyntheticSvs } from '../workers/synthetic/slides/synthetic-slides.js';
import type { SvsJpegColour } from '../workers/synthetic/slides/svs-jpeg-tiles.js';
import { convertToJp2kSvs } from '../test/wsi/aperio-jp2k-svs.js';
import { writeDicomWsiFrom } from '../test/wsi/dicom-wsi-fixture.js';

// The slides bench:tile reads: Aperio-layout SVS with JPEG tiles (4:2:0 as most scanners write,
// and 4:4:4), the same tissue as JPEG 2000 SVS (Aperio 33003 and 33005), and as a DICOM series
// (wsidicomizer, the JPEG tiles copied into frames). JPEG 2000 and DICOM come from a smaller slide:
// re-encoding is slow and the figures are per read.

export interface BenchSlide {
  name: string;
  path: string;
  /** Which OpenSlide the reference reads it with: 3.4 (Debian) cannot read DICOM. */
  reference: 'openslide-3.4' | 'openslide-4.0';
  /** What OpenSlide opens, where it differs (a DICOM series: one of its files, not the folder). */
  referencePath?: string;
}

export interface BenchSlideSizes {
  width: number;
  height: number;
  smallWidth: number;
  smallHeight: number;
  seed: number;
}

async function svs(
  dir: string,
  name: string,
  colour: SvsJpegColour,
  width: number,
  height: number,
  seed: number,
  downsamples = [4, 16, 64],
) {
  return writeSyntheticSvs(join(dir, `${name}.svs`), {
    width,
    height,
    seed,
    blobs: 5,
    downsamples,
    reuseGlassTiles: true,
    quality: 85,
    jpegColour: colour,
  });
}

export async function writeBenchSlides(dir: string, sizes: BenchSlideSizes, log: (line: string) => void) {
  const slides: BenchSlide[] = [];
  for (const [name, colour] of [
    ['svs-jpeg-420', 'ycbcr-420'],
    ['svs-jpeg-444', 'ycbcr'],
  ] as const) {
    const started = Date.now();
    const slide = await svs(dir, name, colour, sizes.width, sizes.height, sizes.seed);
    log(
      `${name}: ${sizes.width} × ${sizes.height}, 240-px JPEG ${colour} Q 85, written in ${(Date.now() - started) / 1000} s`,
    );
    slides.push({ name, path: slide.path, reference: 'openslide-3.4' });
  }
  // opentile (inside wsidicomizer) wants every level an integer power-of-two step below level 0.
  const small = await svs(dir, 'small-420', 'ycbcr-420', sizes.smallWidth, sizes.smallHeight, sizes.seed + 1, [4, 16]);
  for (const compression of [33003, 33005] as const) {
    const path = join(dir, `svs-jp2k-${compression}.svs`);
    await convertToJp2kSvs(small.path, path, { compression });
    log(`svs-jp2k-${compression}: ${sizes.smallWidth} × ${sizes.smallHeight}, Aperio JPEG 2000 (${compression})`);
    slides.push({ name: `svs-jp2k-${compression}`, path, reference: 'openslide-4.0' });
  }
  const dicom = await writeDicomWsiFrom(small.path, join(dir, 'dicom'));
  log(`dicom: ${sizes.smallWidth} × ${sizes.smallHeight}, wsidicomizer series (JPEG frames), read as a folder`);
  slides.push({
    name: 'dicom-jpeg (folder)',
    path: dicom.dir,
    reference: 'openslide-4.0',
    referencePath: dicom.level0,
  });
  return slides;
}
