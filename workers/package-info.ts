import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The CLI runs both from source (tsx, tests) and from dist/ (npm bin): find the package root by
// walking up to package.json instead of hard-coding how deep this file sits.
function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('pathgen: package.json not found above the CLI');
    dir = parent;
  }
  return dir;
}

export const packageRoot = findPackageRoot();

export const pathgenVersion: string = (
  JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/** The workflows entry the worker bundles: the compiled one under dist/, or the source when run through tsx. */
export function workflowsEntry(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const compiled = path.join(here, '..', 'workflows', 'index.js');
  if (existsSync(compiled)) return compiled;
  return path.join(here, '..', 'workflows', 'index.ts');
}

/** Where infra/install-tools.sh puts the Temporal CLI and MinIO. */
export const toolsBin = path.join(packageRoot, '.tools', 'bin');

/** What pathgenTrain runs: the venv infra/install-tools.sh --train makes, and our scripts. */
export const trainingTools = {
  defaultPython: path.join(packageRoot, '.tools', 'train-venv', 'bin', 'python'),
  trainScript: path.join(packageRoot, 'infra', 'train', 'pathgen_train.py'),
  exportScript: path.join(packageRoot, 'infra', 'export-clip-onnx.py'),
};
