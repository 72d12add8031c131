import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, requireReferencePython } from '../../infra/harness/installed-tools.js';

const script = path.join(repoRoot, 'test', 'eval', 'sklearn-reference.py');

export type ReferenceTask = { command: string } & Record<string, unknown>;

/**
 * Runs test/eval/sklearn-reference.py on the tasks (one Python process for all) and returns its
 * results in order. The reference Python is a test dependency: without it the test fails, never skips.
 */
export async function sklearnReference<T = Record<string, unknown>>(tasks: ReferenceTask[]): Promise<T[]> {
  const python = requireReferencePython();
  const dir = await mkdtemp(path.join(tmpdir(), 'pathgen-eval-math-'));
  try {
    const input = path.join(dir, 'tasks.json');
    await writeFile(input, JSON.stringify({ tasks }));
    // One BLAS/OpenMP thread: the problems are tiny, and thread pools on a shared machine cost seconds.
    const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    const { stdout } = await promisify(execFile)(python, [script, input], { env, maxBuffer: 256 * 1024 * 1024 });
    return (JSON.parse(stdout) as { results: T[] }).results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Float32Array rows as nested arrays for JSON. */
export function nested(values: ArrayLike<number>, columns: number): number[][] {
  return Array.from({ length: values.length / columns }, (_, i) =>
    Array.from({ length: columns }, (_, j) => values[i * columns + j]!),
  );
}
