import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../activities/wsi/run-command.js';
import { repoRoot } from './installed-tools.js';

// OpenSlide (through python3-openslide) as the reference our reader is compared with. Tests that
// need it run everywhere it is installed; in CI its absence is a failure, not a skip.

export const installHint =
  'python3-openslide is missing: run infra/install-tools.sh (or apt-get install python3-openslide)';

export async function findOpenSlidePython(): Promise<string | undefined> {
  const candidates = [process.env.PATHGEN_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => Boolean(c));
  for (const python of candidates) {
    const result = await runCommand(python, ['-c', 'import openslide']).catch(() => undefined);
    if (result?.code === 0) return python;
  }
  return undefined;
}

/** Locally a missing OpenSlide skips with this reason; in CI it does not skip (the test fails). */
export function openSlideSkipReason(python: string | undefined): string | false {
  return python === undefined && !process.env.CI ? installHint : false;
}

// OpenSlide 4 (DICOM WSI, JPEG 2000 SVS read by openslide-bin's build) lives in .tools/python-ref,
// which infra/install-tools.sh makes; the system's python3-openslide is 3.4. The helpers below take
// either Python: openslide-python 1.4's API is 1.2's.
export const openSlide4Hint =
  'OpenSlide 4 is missing: run infra/install-tools.sh (it installs openslide-bin into .tools/python-ref)';

const openSlide4Check =
  'import sys, openslide; sys.exit(0 if int(openslide.__library_version__.split(".")[0]) >= 4 else 1)';

let openSlide4: Promise<string | undefined> | undefined;

/** $PATHGEN_OPENSLIDE4_PYTHON, else .tools/python-ref's Python, when it imports OpenSlide 4 or newer. */
export function findOpenSlide4Python(): Promise<string | undefined> {
  openSlide4 ??= (async () => {
    const python = process.env.PATHGEN_OPENSLIDE4_PYTHON ?? join(repoRoot, '.tools', 'python-ref', 'bin', 'python');
    const result = await runCommand(python, ['-c', openSlide4Check]).catch(() => undefined);
    return result?.code === 0 ? python : undefined;
  })();
  return openSlide4;
}

/** Locally a missing OpenSlide 4 skips with this reason; in CI it does not skip (the test fails). */
export function openSlide4SkipReason(python: string | undefined): string | false {
  return python === undefined && !process.env.CI ? openSlide4Hint : false;
}

export function requirePython(python: string | undefined, hint = installHint): string {
  if (python === undefined) throw new Error(hint);
  return python;
}

export interface OpenSlideMetadata {
  vendor: string | null;
  levelCount: number;
  dimensions: [number, number][];
  downsamples: number[];
  mppX: number | null;
  mppY: number | null;
  objectivePower: number | null;
  associated: Record<string, [number, number]>;
}

const metadataScript = `
import json, sys, openslide
s = openslide.OpenSlide(sys.argv[1])
p = s.properties
num = lambda k: float(p[k]) if k in p else None
print(json.dumps({
  'vendor': p.get('openslide.vendor'),
  'levelCount': s.level_count,
  'dimensions': s.level_dimensions,
  'downsamples': s.level_downsamples,
  'mppX': num('openslide.mpp-x'), 'mppY': num('openslide.mpp-y'),
  'objectivePower': num('openslide.objective-power'),
  'associated': {k: v.size for k, v in s.associated_images.items()},
}))
`;

export async function openSlideMetadata(python: string, path: string): Promise<OpenSlideMetadata> {
  const result = await runCommand(python, ['-c', metadataScript, path]);
  if (result.code !== 0) throw new Error(`OpenSlide cannot open ${path}: ${result.stderr.trim().split('\n').pop()}`);
  return JSON.parse(result.stdout) as OpenSlideMetadata;
}

export interface Region {
  level: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

// Writes every region's RGBA bytes, one after another, to a file: faster than pipes for megabytes.
const regionScript = `
import json, sys, openslide
s = openslide.OpenSlide(sys.argv[1])
regions = json.loads(sys.argv[2])
with open(sys.argv[3], 'wb') as out:
  for r in regions:
    out.write(s.read_region((r['x'], r['y']), r['level'], (r['width'], r['height'])).tobytes())
`;

/** OpenSlide's read_region for each region, as RGBA (alpha 0 where OpenSlide has no data). */
export async function openSlideRegions(python: string, path: string, regions: Region[]): Promise<Buffer[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pathgen-openslide-'));
  try {
    const output = join(dir, 'regions.raw');
    const result = await runCommand(python, ['-c', regionScript, path, JSON.stringify(regions), output]);
    if (result.code !== 0)
      throw new Error(`OpenSlide read_region failed on ${path}: ${result.stderr.trim().split('\n').pop()}`);
    const bytes = await readFile(output);
    const buffers: Buffer[] = [];
    let at = 0;
    for (const region of regions) {
      const length = region.width * region.height * 4;
      buffers.push(bytes.subarray(at, at + length));
      at += length;
    }
    return buffers;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface PixelDifference {
  meanAbsolute: number;
  maximum: number;
  /** Pixels where OpenSlide had data (alpha 255) but ours is counted outside, or the reverse. */
  coverageMismatches: number;
}

/** Compares our RGB with OpenSlide's RGBA where OpenSlide has data; its transparent pixels must be our white ones. */
export function comparePixels(rgb: Buffer, rgba: Buffer): PixelDifference {
  let sum = 0;
  let count = 0;
  let maximum = 0;
  let coverageMismatches = 0;
  for (let p = 0, i = 0; i < rgba.length; p += 3, i += 4) {
    const alpha = rgba[i + 3]!;
    if (alpha === 0) {
      if (rgb[p] !== 255 || rgb[p + 1] !== 255 || rgb[p + 2] !== 255) coverageMismatches++;
      continue;
    }
    for (let c = 0; c < 3; c++) {
      const difference = Math.abs(rgb[p + c]! - rgba[i + c]!);
      sum += difference;
      count++;
      if (difference > maximum) maximum = difference;
    }
  }
  return { meanAbsolute: count === 0 ? 0 : sum / count, maximum, coverageMismatches };
}

const associatedScript = `
import sys, openslide
s = openslide.OpenSlide(sys.argv[1])
with open(sys.argv[3], 'wb') as out:
  out.write(s.associated_images[sys.argv[2]].convert('RGBA').tobytes())
`;

/** An associated image as OpenSlide decodes it, as RGBA. */
export async function openSlideAssociatedImage(python: string, path: string, name: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'pathgen-openslide-'));
  try {
    const output = join(dir, 'associated.raw');
    const result = await runCommand(python, ['-c', associatedScript, path, name, output]);
    if (result.code !== 0)
      throw new Error(`OpenSlide cannot read associated image ${name}: ${result.stderr.trim().split('\n').pop()}`);
    return await readFile(output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
