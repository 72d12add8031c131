import { MockActivityEnvironment } from '@temporalio/testing';
import type { Info } from '@temporalio/activity';
import { DefaultLogger } from '@temporalio/worker';
import type { LogEntry } from '@temporalio/worker';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import '../setup/quiet-temporal-runtime.js';

// What the export-run tests share: an fs store that counts writes (to prove a retry or a resume
// writes nothing it need not) and a way to run one activity in Temporal's mock activity context.

export class CountingStore extends FsObjectStore {
  puts: string[] = [];
  override async put(...args: Parameters<FsObjectStore['put']>): ReturnType<FsObjectStore['put']> {
    this.puts.push(args[0]);
    return await super.put(...args);
  }
}

/** What the mock environment logged (an activity that fails logs a warning); kept off the console. */
export const activityLogs: LogEntry[] = [];

export function activityEnvironment(info: Partial<Info> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment(info, {
    logger: new DefaultLogger('WARN', (entry) => {
      activityLogs.push(entry);
    }),
  });
}

export async function runActivity<I, R>(
  activity: (input: I) => Promise<R>,
  input: I,
  info: Partial<Info> = {},
): Promise<R> {
  return await activityEnvironment(info).run(activity, input);
}
