import { FsObjectStore } from './fs-store.js';
import type { FsStoreOptions } from './fs-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3-store.js';
import type { S3StoreOptions } from './s3-store.js';

export type StoreOptions = ({ kind: 'fs' } & FsStoreOptions) | ({ kind: 's3' } & S3StoreOptions);

export function openStore(options: StoreOptions): ObjectStore {
  return options.kind === 'fs' ? new FsObjectStore(options) : new S3ObjectStore(options);
}
