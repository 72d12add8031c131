import { isCancellation, upsertSearchAttributes } from '@temporalio/workflow';
import { PathgenRunId, PathgenStatus } from './search-attributes.js';

/**
 * Runs a training or evaluation workflow's body with its id and status as search attributes:
 * `running` while it runs, `failed` or `cancelled` when it ends so (the body sets `completed`), so
 * `PathgenStatus = 'failed'` finds it in the UI and the CLI.
 */
export async function withStatusAttributes<T>(id: string, body: () => Promise<T>): Promise<T> {
  upsertSearchAttributes([
    { key: PathgenRunId, value: id },
    { key: PathgenStatus, value: 'running' },
  ]);
  try {
    return await body();
  } catch (error) {
    upsertSearchAttributes([{ key: PathgenStatus, value: isCancellation(error) ? 'cancelled' : 'failed' }]);
    throw error;
  }
}
