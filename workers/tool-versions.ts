import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
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
  { tool: 'vips', command: 'vips', args: ['--version'], purpose: 'converts slide formats sharp cannot decode' },
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
  return Promise.all(
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
}
