import type { QueueRole } from '../workflows/task-queues.js';
import { createDiagnosticActivities } from './diagnostic.js';
import type { ObjectStore } from './store/object-store.js';
import { createTileActivities } from './tile.js';

export interface ActivityDeps {
  store: ObjectStore;
  pathgenVersion: string;
  /** Machine-local folder for slides staged from the store and vips conversions. */
  slideCacheDir: string;
  slideCacheMaxBytes: number;
}

/**
 * The activities each queue's workers register. Every queue also answers the diagnostic ping so
 * that `pathgen doctor` can check it. Stages add their activities to the queue they run on.
 */
export function createActivities(
  deps: ActivityDeps,
): Record<QueueRole, Record<string, (...args: never[]) => Promise<unknown>>> {
  const diagnostic = createDiagnosticActivities(deps);
  return {
    cpu: { ...diagnostic, ...createTileActivities(deps) },
    gpu: { ...diagnostic },
    agents: { ...diagnostic },
  };
}
