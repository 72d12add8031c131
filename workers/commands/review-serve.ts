import { Client, Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { PathgenError } from '../../activities/common/errors.js';
import type { PathgenConfig } from '../config/schema.js';
import { openConfiguredStore } from '../configured-store.js';
import { assertSafeBinding, createReviewApp, startReviewServer, temporalRunStatus } from '../review-app/index.js';
import type { ReviewTemporal } from '../review-app/index.js';
import { createReviewRecorder } from '../review-recorder.js';
import { reviewerName } from '../reviewer.js';
import { temporalConnectionOptions } from '../temporal-connection.js';
import { configFrom, numberFlag } from './command-context.js';
import { ExitError, exitCodes } from './exit-status.js';

// `pathgen review [serve] [--run RUN] [--port 8787] [--host 127.0.0.1]`: the review web app over the
// configured store, and Temporal when it answers. It is the `review` group's default subcommand, so
// the group itself has no options and `--run` stays each subcommand's own.

interface ReviewServeFlags {
  run?: string;
  port: string;
  host: string;
}

/** Temporal is optional to the app: a server that does not answer in a few seconds is left out. */
async function connectTemporal(config: PathgenConfig): Promise<{ temporal?: ReviewTemporal; close(): Promise<void> }> {
  try {
    const connection = await Connection.connect({
      ...temporalConnectionOptions(config.temporal),
      connectTimeout: '3s',
    });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    return { temporal: temporalRunStatus(client), close: () => connection.close() };
  } catch {
    return { close: () => Promise.resolve() };
  }
}

export function addReviewServeCommand(reviewCommand: Command): Command {
  return reviewCommand
    .command('serve', { isDefault: true })
    .description('Serve the review web app (the default: `pathgen review` alone serves it).')
    .option('--run <runId>', 'serve only this run')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8787')
    .option('--host <host>', 'address to bind; anything but loopback needs PATHGEN_REVIEW_TOKEN', '127.0.0.1')
    .action(async (flags: ReviewServeFlags, command: Command) => {
      const port = numberFlag(flags.port, '--port', true);
      if (port < 0 || port > 65535) throw new ExitError(exitCodes.usage, `--port takes 0 to 65535, got ${port}`);
      const token = process.env.PATHGEN_REVIEW_TOKEN || undefined;
      try {
        assertSafeBinding(flags.host, token);
      } catch (error) {
        if (error instanceof PathgenError) throw new ExitError(exitCodes.usage, error.message);
        throw error;
      }
      const config = configFrom(command);
      const store = openConfiguredStore(config.storage);
      const temporal = await connectTemporal(config);
      const app = createReviewApp({
        store,
        runId: flags.run,
        token,
        temporal: temporal.temporal,
        recordReview: createReviewRecorder(config, store),
        reviewer: reviewerName(config),
      });
      const server = await startReviewServer(app, flags.host, port, token);
      process.stdout.write(
        `review app on ${server.url}/ over ${store.description}${temporal.temporal ? `, Temporal at ${config.temporal.address}` : ' (Temporal not reachable)'}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      await temporal.close();
    });
}
