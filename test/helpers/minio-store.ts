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

/** The PATHGEN_* environment of a CLI process whose store is `bucket` on the test run's MinIO. */
export function minioStoreEnv(bucket: string): Record<string, string> {
  const minio = inject('minio');
  return {
    PATHGEN_STORAGE_KIND: 's3',
    PATHGEN_S3_ENDPOINT: minio.endpoint,
    PATHGEN_S3_PORT: String(minio.port),
    PATHGEN_S3_USE_SSL: 'false',
    PATHGEN_S3_BUCKET: bucket,
    PATHGEN_S3_ACCESS_KEY: minio.accessKey,
    PATHGEN_S3_SECRET_KEY: minio.secretKey,
  };
}
