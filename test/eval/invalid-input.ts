import { expect } from 'vitest';
import { PathgenError } from '../../activities/common/errors.js';

/** The message of the InvalidInput error `run` throws (fails the test if it throws none or another). */
export function invalidMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PathgenError);
    expect((error as PathgenError).code).toBe('InvalidInput');
    return (error as PathgenError).message;
  }
  throw new Error('expected an InvalidInput error');
}
