import { bundleWorkflowCode } from '@temporalio/worker';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../activities/common/errors.js';
import { packageRoot, workflowsEntry } from './package-info.js';

// The workflow code a worker runs, bundled once per version of the code instead of at every start
// (webpack takes 10-20 s of CPU on a small machine: a worker restarted after a crash, or one of many
// in a fleet, should poll at once). The bundle is cached under node_modules/.cache keyed by a hash
// of every file the bundle can contain: the workflows, the activity contracts they import, and the
// SDK's version. A worker that cannot write the cache bundles in memory, as before.

type WorkflowCode = { workflowBundle: { codePath: string } } | { workflowBundle: { code: string } };

export const workflowBundleCacheDir = path.join(packageRoot, 'node_modules', '.cache', 'pathgen', 'workflow-bundles');

export async function workflowCodeOption(warn: (message: string) => void): Promise<WorkflowCode> {
  const entry = workflowsEntry();
  const codePath = path.join(workflowBundleCacheDir, `${workflowSourceHash(entry)}.js`);
  if (existsSync(codePath)) return { workflowBundle: { codePath } };
  const { code } = await bundleWorkflowCode({ workflowsPath: entry });
  try {
    await mkdir(workflowBundleCacheDir, { recursive: true });
    // Written aside and renamed: a worker starting beside this one never reads half a bundle.
    const partial = `${codePath}.${process.pid}.partial`;
    await writeFile(partial, code);
    await rename(partial, codePath);
    await pruneBundles(codePath);
    return { workflowBundle: { codePath } };
  } catch (error) {
    warn(`workflow bundle not cached (${errorMessage(error)}): each worker start bundles again`);
    return { workflowBundle: { code } };
  }
}

/**
 * A hash of the workflow code's sources: the workflows folder and the activities folder beside it
 * (workflows import only activities/contracts at run time, a lint rule, but the whole folder is
 * cheap to hash and safe against a rule that changes), in the entry's tree (source or dist/).
 */
export function workflowSourceHash(entry: string): string {
  const tree = path.dirname(path.dirname(entry));
  const hash = createHash('sha256');
  for (const folder of ['workflows', 'activities']) {
    for (const file of filesUnder(path.join(tree, folder))) {
      hash.update(path.relative(tree, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  const sdk = path.join(packageRoot, 'node_modules', '@temporalio', 'workflow', 'package.json');
  hash.update(existsSync(sdk) ? readFileSync(sdk) : 'no-sdk-package');
  return hash.digest('hex').slice(0, 24);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|js|json)$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** Keeps the newest few bundles (other checkouts or branches may still use them), deletes the rest. */
async function pruneBundles(keep: string, newest = 5): Promise<void> {
  const bundles = (await readdir(workflowBundleCacheDir)).filter((name) => name.endsWith('.js'));
  const aged = await Promise.all(
    bundles.map(async (name) => {
      const file = path.join(workflowBundleCacheDir, name);
      // Another worker may prune the same folder at once: a bundle gone already is simply old.
      return {
        file,
        mtimeMs: await stat(file).then(
          (info) => info.mtimeMs,
          () => 0,
        ),
      };
    }),
  );
  aged.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { file } of aged.slice(newest)) if (file !== keep) await rm(file, { force: true });
}
