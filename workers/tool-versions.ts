import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { nativeCodecVersions } from '../activities/wsi/native-codecs.js';
import { defaultConverterPython } from '../activities/wsi/openslide-stream.js';
import { toolsBin } from './package-info.js';

const run = promisify(execFile);

export interface ToolVersion {
  tool: string;
  /** First line of the tool's own version output, or undefined when it is not installed. */
  version?: string;
  path?: string;
  purpose: string;
}

// Installed by infra/install-tools.sh. None is needed by every machine (a GPU worker needs no
// MinIO), so doctor reports them rather than failing on them.
const tools: { tool: string; command: string; args: string[]; purpose: string }[] = [
  {
    tool: 'temporal',
    command: 'temporal',
    args: ['--version'],
    purpose: 'Temporal dev server and Web UI (development)',
  },
  { tool: 'minio', command: 'minio', args: ['--version'], purpose: 'S3 store for development and tests' },
  {
    tool: 'openslide-converter',
    command: defaultConverterPython(),
    args: ['-c', 'import openslide; print("OpenSlide", openslide.__library_version__)'],
    purpose: 'converts slide formats pathgen does not read itself (infra/openslide-convert.py, .tools/openslide-venv)',
  },
  { tool: 'vips', command: 'vips', args: ['--version'], purpose: 'writes JPEG 2000 slides for the tests (jp2ksave)' },
  {
    tool: 'openslide',
    command: 'openslide-show-properties',
    args: ['--version'],
    purpose: 'reference reader for tests and benchmarks',
  },
];

function locate(command: string): string {
  const local = path.join(toolsBin, command);
  return existsSync(local) ? local : command;
}

export async function toolVersions(): Promise<ToolVersion[]> {
  const codecs = nativeCodecVersions();
  const native: ToolVersion = {
    tool: 'pathgen-codecs',
    purpose: 'native JPEG / JPEG 2000 tile decoding (infra/build-native.sh); without it JPEG reads through libvips',
  };
  if (codecs) native.version = codecs;
  const external = await Promise.all(
    tools.map(async ({ tool, command, args, purpose }) => {
      const file = locate(command);
      try {
        const { stdout, stderr } = await run(file, args, { timeout: 10_000 });
        const version =
          (stdout || stderr)
            .split('\n')
            .find((line) => line.trim() !== '')
            ?.trim() ?? 'unknown';
        // `go install` builds call themselves 0.0.0-DEV; install-tools.sh stamps the pinned version.
        const stamp = path.join(toolsBin, `.${command}.version`);
        const pinned =
          file.startsWith(toolsBin) && existsSync(stamp) ? ` [pinned ${readFileSync(stamp, 'utf8').trim()}]` : '';
        return { tool, version: version + pinned, path: file, purpose };
      } catch {
        return { tool, purpose };
      }
    }),
  );
  return [...external, native];
}
