import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const toolsBin = path.join(repoRoot, '.tools', 'bin');

/** A service binary installed by infra/install-tools.sh, or a clear failure: tests never skip for want of one. */
export function requireTool(name: 'temporal' | 'minio'): string {
  const local = path.join(toolsBin, name);
  if (existsSync(local)) return local;
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => path.join(dir, name))
    .find((candidate) => existsSync(candidate));
  if (onPath) return onPath;
  throw new Error(`${name} is not installed: run infra/install-tools.sh (it builds ${name} into .tools/bin)`);
}

/** The training environment's Python (infra/install-tools.sh --train), or a clear failure. */
export function requireTrainPython(): string {
  const candidate = process.env.PATHGEN_TRAIN_PYTHON ?? path.join(repoRoot, '.tools', 'train-venv', 'bin', 'python');
  if (existsSync(candidate)) return candidate;
  throw new Error(
    `the training environment is not installed (${candidate} is missing): run infra/install-tools.sh --train`,
  );
}

/** The reference Python (numpy + scikit-learn, made by infra/install-tools.sh), or a clear failure. */
export function requireReferencePython(): string {
  const candidate = path.join(repoRoot, '.tools', 'python-ref', 'bin', 'python');
  if (existsSync(candidate)) return candidate;
  throw new Error(
    `the reference Python (numpy + scikit-learn) is missing at ${candidate}: run infra/install-tools.sh to create it`,
  );
}

/** Debian's Chromium (infra/install-tools.sh installs it) for the review app's browser tests, or a clear failure. */
export function requireChromium(): string {
  const candidates = [process.env.PATHGEN_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((candidate): candidate is string => Boolean(candidate) && existsSync(candidate!));
  if (found) return found;
  throw new Error('chromium is not installed: run infra/install-tools.sh (it installs the Debian package chromium)');
}
