import { describe, expect, it } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';
import { processAlive } from '../helpers/cli-process.js';
import { runTrainerProcess } from '../../activities/train/trainer-process.js';

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the trainer process', () => {
  it('streams every line and resolves on exit 0', async () => {
    const lines: string[] = [];
    const exit = await runTrainerProcess({
      command: 'bash',
      args: ['-c', 'echo one; echo two >&2; echo three'],
      onLine: (line) => lines.push(line),
    });
    expect(exit.code).toBe(0);
    expect([...lines].sort()).toEqual(['one', 'three', 'two']);
  });

  it('fails with the tail of its log when it exits non-zero', async () => {
    const failure = await runTrainerProcess({
      command: 'bash',
      args: [
        '-c',
        'for i in $(seq 1 100); do echo "line $i"; done; echo "RuntimeError: CUDA out of memory" >&2; exit 3',
      ],
      tailLines: 5,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PathgenError);
    const error = failure as PathgenError;
    expect(error.code).toBe('TrainerFailed');
    expect(error.message).toContain('exited with code 3');
    expect(error.message).toContain('RuntimeError: CUDA out of memory');
    expect(error.details.tail).toHaveLength(5);
    expect(error.message).not.toContain('line 95\n');
  });

  it('says how to install the trainer when the interpreter is missing', async () => {
    const failure = await runTrainerProcess({ command: '/nonexistent/python', args: [] }).catch(
      (error: unknown) => error,
    );
    expect((failure as PathgenError).code).toBe('TrainerNotInstalled');
    expect((failure as PathgenError).message).toContain('install-tools.sh --train');
  });

  it('stops the whole process group on abort, including children that ignore SIGTERM', async () => {
    const controller = new AbortController();
    let grandchild = 0;
    const running = runTrainerProcess({
      command: 'bash',
      // A child that ignores SIGTERM stands in for a stuck dataloader worker.
      args: ['-c', `bash -c 'trap "" TERM; echo child $$; while true; do sleep 0.1; done' & wait`],
      signal: controller.signal,
      killGraceMs: 300,
      onLine: (line) => {
        const match = /^child (\d+)$/.exec(line);
        if (match) grandchild = Number(match[1]);
      },
    }).catch((error: unknown) => error);
    await until(() => grandchild > 0);
    controller.abort();
    const failure = await running;
    expect((failure as PathgenError).code).toBe('TrainerCancelled');
    await until(() => !processAlive(grandchild));
  });
});
