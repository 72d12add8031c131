import sharp from 'sharp';
import { sampleKey } from '../../activities/export/index.js';
import type { ExportSample } from '../../activities/export/index.js';

// Small samples for export tests: real JPEGs (8×8, one colour each) so a reader could decode them,
// and captions that exercise quoting (tabs, line breaks, quotes, non-ASCII).

export interface TestSample extends ExportSample {
  bytes: Buffer;
}

export async function jpegOf(seed: number): Promise<Buffer> {
  return await sharp({
    create: {
      width: 8,
      height: 8,
      channels: 3,
      background: { r: seed % 256, g: (seed * 7) % 256, b: (seed * 13) % 256 },
    },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
}

const slides = [
  { slideId: 'TCGA-AA-3844-01Z-00-DX1.bf88ce1f', project: 'TCGA-COAD', fileId: 'file-a' },
  { slideId: 'TCGA-55-8621-01Z-00-DX1.7C519007', project: 'TCGA-LUAD', fileId: 'file-b' },
  { slideId: 'slide_3', project: undefined, fileId: undefined },
];

const captions = [
  'Glandular epithelium with hyperchromatic nuclei.',
  'Tab\tinside, "quoted" words and a\nline break.',
  'Naïve µm-scale stroma, likely adenocarcinoma.',
  ' leading and trailing space ',
];

/** `count` samples spread over three slides, in an order that is not key order. */
export async function makeSamples(count: number, captionSuffix = ''): Promise<TestSample[]> {
  const samples: TestSample[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const slide = slides[i % slides.length] as (typeof slides)[number];
    const x = 672 * (i + 1);
    const y = 672 * (i % 4);
    const bytes = await jpegOf(i);
    const metadata: Record<string, unknown> = { description: `desc ${i}`, usage: { tokens: i } };
    if (slide.fileId !== undefined) metadata.fileId = slide.fileId;
    samples.push({
      key: sampleKey(slide.slideId, x, y),
      slideId: slide.slideId,
      ...(slide.project === undefined ? {} : { project: slide.project }),
      x,
      y,
      level: 0,
      mpp: 0.25,
      caption: `${captions[i % captions.length] as string}${captionSuffix}`,
      jpeg: () => Promise.resolve(bytes),
      metadata,
      bytes,
    });
  }
  return samples;
}
