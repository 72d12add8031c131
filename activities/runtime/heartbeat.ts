import { Context } from '@temporalio/activity';

/**
 * Heartbeats `details()` now and every few seconds while `work` runs: for steps that report no
 * progress of their own (opening a slide, planning, clustering) but must not look like a dead worker.
 */
export async function whileHeartbeating<T>(details: () => unknown, work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  context.heartbeat(details());
  const timer = setInterval(() => context.heartbeat(details()), 5_000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
