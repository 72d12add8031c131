import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runCommand } from '../../activities/wsi/run-command.js';
import { repoRoot, requireReferencePython } from '../../infra/harness/installed-tools.js';

// A DICOM whole-slide image made from one of our SVS slides by wsidicomizer (in .tools/python-ref),
// through infra/harness/dicom-wsi-fixture.py: one .dcm per pyramid level (level-0.dcm is the
// largest) plus label.dcm, overview.dcm and thumbnail.dcm. OpenSlide 4 opens any one of them and
// finds the rest of the series in the same folder; a folder holding level-0.dcm alone is the
// "slide given as one DICOM file" case.

export interface DicomWsiOptions {
  /**
   * `jpeg` (default): the SVS's JPEG tiles copied as frames, PhotometricInterpretation RGB for
   * Aperio "JPEG/RGB" tiles, YBR_FULL_422 for YCbCr ones (whatever their chroma sampling).
   * `jpeg2000`: frames re-encoded as J2K codestreams, YBR_ICT (transfer syntax …4.91);
   * `jpeg2000-lossless`: YBR_RCT (…4.90).
   */
  frames?: 'jpeg' | 'jpeg2000' | 'jpeg2000-lossless';
  /** `full` (default) is TILED_FULL as wsidicomizer writes; `sparse` rewrites every level as TILED_SPARSE. */
  tiling?: 'full' | 'sparse';
  /** Sparse only: level-0 tiles (0-based tile column, row) left out; OpenSlide 4 paints them transparent. */
  dropTiles?: [number, number][];
  /** Sparse only: frames stored in reverse order, so only their plane positions place them. */
  reverseFrames?: boolean;
  /** JPEG 2000 quality in dB for lossy frames (default 56). */
  psnr?: number;
  /** Seeds the UIDs, so the same call gives the same study, series and instance UIDs (default 'pathgen'). */
  seed?: string;
  /** The Python with wsidicomizer and OpenSlide 4 (default .tools/python-ref). */
  python?: string;
}

export interface DicomWsiLevel {
  path: string;
  width: number;
  height: number;
  tileWidth: number;
  tileHeight: number;
  tilesAcross: number;
  tilesDown: number;
  /** Frames stored: tilesAcross × tilesDown, less the dropped tiles. */
  frames: number;
  photometric: string;
  transferSyntax: string;
}

export interface DicomWsi {
  dir: string;
  /** The level-0 instance: the file a DICOM slide is opened by. */
  level0: string;
  files: string[];
  levels: DicomWsiLevel[];
  associated: Partial<Record<'label' | 'overview' | 'thumbnail', string>>;
}

const script = join(repoRoot, 'infra', 'harness', 'dicom-wsi-fixture.py');

/** Writes `svsPath` as a DICOM WSI series into `outDir` (created if missing; seconds for a 2000×1500 slide). */
export async function writeDicomWsiFrom(
  svsPath: string,
  outDir: string,
  options: DicomWsiOptions = {},
): Promise<DicomWsi> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const args = [
    script,
    resolve(svsPath),
    dir,
    '--frames',
    options.frames ?? 'jpeg',
    '--tiling',
    options.tiling ?? 'full',
  ];
  for (const [column, row] of options.dropTiles ?? []) args.push('--drop', `${column},${row}`);
  if (options.reverseFrames) args.push('--reverse-frames');
  if (options.psnr !== undefined) args.push('--psnr', String(options.psnr));
  if (options.seed !== undefined) args.push('--seed', options.seed);
  const result = await runCommand(options.python ?? requireReferencePython(), args);
  if (result.code !== 0) throw new Error(`dicom-wsi-fixture.py failed on ${svsPath}: ${result.stderr.trim()}`);
  const summary = JSON.parse(result.stdout) as Omit<DicomWsi, 'dir'>;
  return { dir, ...summary };
}
