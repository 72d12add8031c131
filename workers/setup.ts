import { Connection } from '@temporalio/client';
import { PathgenError, errorMessage } from '../activities/common/errors.js';
import { S3ObjectStore } from '../activities/store/s3-store.js';
import type { PathgenConfig } from './config/schema.js';
import { openConfiguredStore } from './configured-store.js';
import {
  createNamespace,
  namespaceCreateCommand,
  namespaceExists,
  registerSearchAttributes,
  searchAttributeStatus,
} from './namespace-setup.js';
import { temporalConnectionOptions } from './temporal-connection.js';

// `pathgen setup`: makes a Temporal namespace (self-hosted, Temporal Cloud or the dev server) and
// the store ready for pathgen, doing only what is missing, and says what it did. Safe to rerun.

export interface SetupOptions {
  config: PathgenConfig;
  /** Create the namespace when it is missing (needs the right to; Temporal Cloud namespaces are made in its console). */
  createNamespace: boolean;
  retentionDays: number;
  /** Create the S3 bucket when it is missing. */
  createBucket: boolean;
  /** One line per step, as it happens. */
  onStep: (line: string) => void;
}

export async function runSetup(options: SetupOptions): Promise<void> {
  const { config, onStep } = options;
  const { address, namespace } = config.temporal;
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...temporalConnectionOptions(config.temporal), connectTimeout: '10s' });
  } catch (error) {
    throw new PathgenError('ServiceUnavailable', `cannot reach Temporal at ${address}: ${errorMessage(error)}`, {
      address,
    });
  }
  try {
    if (await namespaceExists(connection, namespace)) {
      onStep(`namespace ${namespace}: found on ${address}`);
    } else if (options.createNamespace) {
      await createNamespace(connection, namespace, options.retentionDays);
      onStep(`namespace ${namespace}: created on ${address} (retention ${options.retentionDays} days)`);
    } else {
      throw new PathgenError(
        'Misconfigured',
        `namespace ${namespace} does not exist on ${address}; rerun with --create-namespace, or have an operator run: ${namespaceCreateCommand(namespace, options.retentionDays)}`,
        { namespace, address },
      );
    }
    const added = await registerSearchAttributes(connection, namespace);
    const { missing } = await searchAttributeStatus(connection, namespace);
    if (missing.length > 0) {
      throw new PathgenError(
        'ServiceUnavailable',
        `search attributes ${missing.join(', ')} were registered but ${namespace} does not list them`,
        { namespace, missing },
      );
    }
    onStep(
      added.length > 0
        ? `search attributes: registered ${added.join(', ')} on ${namespace}`
        : `search attributes: all present on ${namespace}`,
    );
  } finally {
    await connection.close();
  }
  onStep(await setUpStore(config, options.createBucket));
}

async function setUpStore(config: PathgenConfig, createBucket: boolean): Promise<string> {
  const store = openConfiguredStore(config.storage);
  if (!(store instanceof S3ObjectStore)) return `store: ${store.description} needs no set-up`;
  if (createBucket) return `store: ${(await store.ensureBucket()) ? 'created' : 'found'} ${store.description}`;
  if (await store.bucketExists()) return `store: found ${store.description}`;
  throw new PathgenError(
    'Misconfigured',
    `the bucket of ${store.description} does not exist; rerun with --create-bucket`,
    { bucket: config.storage.kind === 's3' ? config.storage.bucket : undefined },
  );
}
