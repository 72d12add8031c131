import { StoreError } from '../activities/store/store-errors.js';
import { openStore } from '../activities/store/open-store.js';
import type { ObjectStore } from '../activities/store/object-store.js';
import type { StorageConfig } from './config/schema.js';

/** Opens the configured store, taking S3 keys from the environment variables the config names. */
export function openConfiguredStore(storage: StorageConfig, env: NodeJS.ProcessEnv = process.env): ObjectStore {
  if (storage.kind === 'fs') return openStore(storage);
  const accessKey = env[storage.accessKeyEnv];
  const secretKey = env[storage.secretKeyEnv];
  const missing = [!accessKey && storage.accessKeyEnv, !secretKey && storage.secretKeyEnv].filter(Boolean);
  if (missing.length > 0 || !accessKey || !secretKey) {
    throw new StoreError('Misconfigured', `S3 storage needs credentials in ${missing.join(' and ')}`, { missing });
  }
  return openStore({
    kind: 's3',
    endpoint: storage.endpoint,
    port: storage.port,
    useSSL: storage.useSSL,
    bucket: storage.bucket,
    region: storage.region,
    prefix: storage.prefix,
    accessKey,
    secretKey,
  });
}
