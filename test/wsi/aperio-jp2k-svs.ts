import { join, resolve } from 'node:path';
import { runCommand } from '../../activities/wsi/run-command.js';
import { repoRoot, requireReferencePython } from '../../infra/harness/installed-tools.js';
import { writeSyntheticSvs, type SyntheticSlide } from '../../workers/synthetic/slides/synthetic-slides.js';

// Aperio SVS slides with JPEG 2000 tiles as Aperio scanners write them, made from one of our JPEG
// SVS slides by infra/harness/jp2k-svs-fixture.py (tifffile + imagecodecs in .tools/python-ref):
// compression 33005 holds R, G, B with the codestream's colour transform; 33003 holds Y, Cb, Cr
// (Cb and Cr at half width by default, as Aperio writes) that the reader converts itself. Tiles are
// raw J2K codestreams; the pages keep the source's Aperio descriptions. (synthetic-jp2k-svs.ts
// makes a 33005 slide with vips instead.)

export type AperioJp2kCompression = 33003 | 33005;

export interface Jp2kSvsEncoding {
  compression: AperioJp2kCompression;
  /** 33003 only: Cb and Cr at half horizontal resolution (`422`, default) or full (`444`). */
  chroma?: '422' | '444';
  /** JPEG 2000 quality in dB (default 56). */
  psnr?: number;
  /** The Python with OpenSlide 4, tifffile and imagecodecs (default .tools/python-ref). */
  python?: string;
}

export interface Jp2kSvsOptions extends Jp2kSvsEncoding {
  width: number;
  height: number;
  seed: number;
}

const script = join(repoRoot, 'infra', 'harness', 'jp2k-svs-fixture.py');

/** Re-encodes every pyramid level of a JPEG SVS as JPEG 2000 tiles; thumbnail, label and macro are copied. */
export async function convertToJp2kSvs(jpegSvs: string, path: string, encoding: Jp2kSvsEncoding): Promise<void> {
  const args = [script, resolve(jpegSvs), resolve(path), '--compression', String(encoding.compression)];
  if (encoding.chroma !== undefined) args.push('--chroma', encoding.chroma);
  if (encoding.psnr !== undefined) args.push('--psnr', String(encoding.psnr));
  const result = await runCommand(encoding.python ?? requireReferencePython(), args);
  if (result.code !== 0) throw new Error(`jp2k-svs-fixture.py failed on ${jpegSvs}: ${result.stderr.trim()}`);
}

/**
 * A synthetic slide written as a JPEG SVS (kept beside `path` as `<path>.jpeg.svs`, the pixels to
 * compare with) and then as a JPEG 2000 SVS at `path`.
 */
export async function writeJp2kSvs(
  path: string,
  options: Jp2kSvsOptions,
): Promise<{ path: string; source: SyntheticSlide }> {
  const { width, height, seed, ...encoding } = options;
  const source = await writeSyntheticSvs(`${path}.jpeg.svs`, { width, height, seed });
  await convertToJp2kSvs(source.path, path, encoding);
  return { path, source };
}
