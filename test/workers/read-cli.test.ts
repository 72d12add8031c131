import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../activities/common/seeded-random.js';
import {
  comparePixels,
  findOpenSlide4Python,
  findOpenSlidePython,
  openSlide4Hint,
  openSlideRegions,
  openSlideSkipReason,
  requirePython,
} from '../../infra/harness/openslide-reference.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';
import { exitCodes } from '../../workers/cli.js';
import { runCli } from '../helpers/cli-process.js';
import { convertToJp2kSvs } from '../wsi/aperio-jp2k-svs.js';
import { writeDicomWsiFrom } from '../wsi/dicom-wsi-fixture.js';

const python = await findOpenSlidePython();

describe.skipIf(openSlideSkipReason(python))('pathgen read', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-read-cli-'));
  let svs: string;
  const origins: { x: number; y: number }[] = [];
  const coords = path.join(dir, 'coords.jsonl');

  beforeAll(async () => {
    svs = (
      await writeSyntheticSvs(path.join(dir, 'slide.svs'), {
        width: 3000,
        height: 2200,
        seed: 8,
        jpegColour: 'ycbcr-420',
      })
    ).path;
    const random = seededRandom(3);
    for (let i = 0; i < 12; i++) origins.push({ x: Math.floor(random() * 2700), y: Math.floor(random() * 1900) });
    writeFileSync(coords, origins.map((origin) => JSON.stringify(origin)).join('\n') + '\n');
  });

  it('writes <x>_<y>.png equal to OpenSlide’s crops and prints its figures as one JSON line', async () => {
    const out = path.join(dir, 'out');
    const result = await runCli(['read', svs, '--coords', coords, '--size', '300', '--threads', '2', '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const figures = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(figures).toMatchObject({ regions: 12, threads: 2, decoder: 'libjpeg-turbo (native)' });
    expect(figures.seconds as number).toBeGreaterThan(0);
    expect(figures.regionsPerSecond as number).toBeCloseTo(12 / (figures.seconds as number), 6);
    expect(figures.megapixelsPerSecond as number).toBeCloseTo((12 * 300 * 300) / 1e6 / (figures.seconds as number), 6);
    expect(readdirSync(out).sort()).toEqual(origins.map(({ x, y }) => `${x}_${y}.png`).sort());

    const regions = origins.map(({ x, y }) => ({ level: 0, x, y, width: 300, height: 300 }));
    const reference = await openSlideRegions(requirePython(python), svs, regions);
    for (const [i, { x, y }] of origins.entries()) {
      const png = await sharp(path.join(out, `${x}_${y}.png`))
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect(png.info).toMatchObject({ width: 300, height: 300, channels: 3 });
      const difference = comparePixels(png.data, reference[i]!);
      expect(difference.maximum, `${x}_${y}`).toBe(0);
      expect(difference.coverageMismatches).toBe(0);
    }
  });

  it('reads a DICOM series folder and a JPEG 2000 SVS the same way, equal to OpenSlide 4.0', async () => {
    const python4 = requirePython(await findOpenSlide4Python(), openSlide4Hint);
    const small = (await writeSyntheticSvs(path.join(dir, 'small.svs'), { width: 1600, height: 1200, seed: 9 })).path;
    const dicom = await writeDicomWsiFrom(small, path.join(dir, 'dicom'));
    const jp2k = path.join(dir, 'jp2k.svs');
    await convertToJp2kSvs(small, jp2k, { compression: 33003 });
    const few = path.join(dir, 'few.jsonl');
    const picked = [
      { x: 10, y: 20 },
      { x: 900, y: 700 },
    ];
    writeFileSync(few, picked.map((origin) => JSON.stringify(origin)).join('\n'));
    for (const [slide, reference, decoder] of [
      [dicom.dir, dicom.level0, 'libjpeg-turbo (native)'],
      [jp2k, jp2k, 'OpenJPEG (native)'],
    ] as const) {
      const out = path.join(dir, `out-${path.basename(slide)}`);
      const inspected = await runCli(['inspect', slide]);
      expect(inspected.code, inspected.stderr).toBe(0);
      expect((JSON.parse(inspected.stdout) as { levels: unknown[] }).levels.length).toBeGreaterThan(1);
      const result = await runCli(['read', slide, '--coords', few, '--size', '256', '--out', out]);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ regions: 2, decoder });
      const expected = await openSlideRegions(
        python4,
        reference,
        picked.map(({ x, y }) => ({ level: 0, x, y, width: 256, height: 256 })),
      );
      for (const [i, { x, y }] of picked.entries()) {
        const png = await sharp(path.join(out, `${x}_${y}.png`))
          .raw()
          .toBuffer();
        expect(comparePixels(png, expected[i]!).maximum, `${slide} ${x}_${y}`).toBe(0);
      }
    }
  });

  it('a level the slide lacks and a bad coordinates line are clear failures that read nothing', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"x": 1, "y": 2}\n{"x": "left", "y": 3}\n');
    const badLine = await runCli(['read', svs, '--coords', bad]);
    expect(badLine.code).toBe(exitCodes.usage);
    expect(badLine.stderr).toContain('line 2 needs integer "x" and "y"');
    expect(badLine.stdout).toBe('');

    const level = await runCli(['read', svs, '--coords', coords, '--level', '9']);
    expect(level.code).not.toBe(0);
    expect(level.stderr).toMatch(/no level 9/);
  });
});
