import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { S3ObjectStore } from '../../activities/store/s3-store.js';

/** An S3 store on the test run's MinIO, in a fresh bucket of its own. */
export async function newMinioStore(label: string, prefix = ''): Promise<S3ObjectStore> {
  const minio = inject('minio');
  const store = new S3ObjectStore({
    endpoint: minio.endpoint,
    port: minio.port,
    useSSL: false,
    bucket: `pathgen-${label}-${randomUUID().slice(0, 8)}`,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    prefix,
  });
  await store.ensureBucket();
  return store;
}
