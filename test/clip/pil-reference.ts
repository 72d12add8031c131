import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../activities/wsi/run-command.js';
import type { PreprocessSpec } from '../../activities/clip/preprocess-spec.js';

// Real PIL (python3-pil) as the reference for our CLIP preprocessing. Its absence is a failure,
// never a skip: a preprocessing test that quietly does not run proves nothing.

export const pilInstallHint =
  'python3 with PIL (python3-pil) is needed to check CLIP preprocessing: run infra/install-tools.sh ' +
  '(or apt-get install python3-pil), or point PATHGEN_PYTHON at a python3 that has PIL';

export interface PilPython {
  python: string;
  version: string;
}

export async function findPilPython(): Promise<PilPython | undefined> {
  const candidates = [process.env.PATHGEN_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => Boolean(c));
  for (const python of candidates) {
    const result = await runCommand(python, ['-c', 'import PIL; print(PIL.__version__)']).catch(() => undefined);
    if (result?.code === 0) return { python, version: result.stdout.trim() };
  }
  return undefined;
}

export function requirePil(found: PilPython | undefined): PilPython {
  if (found === undefined) throw new Error(pilInstallHint);
  return found;
}

export interface ReferenceImage {
  data: Uint8Array;
  width: number;
  height: number;
}

// open_clip's eval transform up to ToTensor, with PIL only: torchvision's Resize(int) size rule and
// Image.resize (which is what torchvision calls for a PIL image), then CenterCrop's
// int(round(...)) offsets and Image.crop, then convert('RGB').
const script = `
import json, sys
from PIL import Image
cases = json.loads(sys.argv[1])
data = open(sys.argv[2], 'rb').read()
at = 0
with open(sys.argv[3], 'wb') as out:
  for c in cases:
    w, h, size = c['width'], c['height'], c['size']
    im = Image.frombytes('RGB', (w, h), data[at:at + w * h * 3])
    at += w * h * 3
    f = Image.BICUBIC if c['interpolation'] == 'bicubic' else Image.BILINEAR
    if c['resizeMode'] == 'squash':
      im = im.resize((size, size), f)
    else:
      short, long = (w, h) if w <= h else (h, w)
      new_short, new_long = size, int(size * long / short)
      nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
      if (nw, nh) != (w, h):
        im = im.resize((nw, nh), f)
      top = int(round((nh - size) / 2.0))
      left = int(round((nw - size) / 2.0))
      im = im.crop((left, top, left + size, top + size))
    out.write(im.convert('RGB').tobytes())
`;

/** PIL's size×size RGB bytes for each image, in one python run. */
export async function pilClipResize(
  python: string,
  images: readonly ReferenceImage[],
  specs: readonly PreprocessSpec[],
): Promise<Uint8Array[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pathgen-pil-'));
  try {
    const input = join(dir, 'input.raw');
    const output = join(dir, 'output.raw');
    await writeFile(input, Buffer.concat(images.map((image) => image.data)));
    const cases = images.map((image, i) => ({
      width: image.width,
      height: image.height,
      size: specs[i]!.imageSize,
      resizeMode: specs[i]!.resizeMode,
      interpolation: specs[i]!.interpolation,
    }));
    const result = await runCommand(python, ['-c', script, JSON.stringify(cases), input, output]);
    if (result.code !== 0) throw new Error(`PIL reference failed: ${result.stderr.trim().split('\n').pop()}`);
    const bytes = await readFile(output);
    const outputs: Uint8Array[] = [];
    let at = 0;
    for (const spec of specs) {
      const length = spec.imageSize * spec.imageSize * 3;
      outputs.push(bytes.subarray(at, at + length));
      at += length;
    }
    if (at !== bytes.length) throw new Error(`PIL reference wrote ${bytes.length} bytes, expected ${at}`);
    return outputs;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
