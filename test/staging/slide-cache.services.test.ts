import { randomUUID } from 'node:crypto';
import { expect, inject, it } from 'vitest';
import { S3ObjectStore } from '../../activities/store/s3-store.js';
import { parseSlideReference } from '../../activities/staging/slide-reference.js';
import { describeSlideCache } from './slide-cache-contract.js';

const minio = inject('minio');

async function newStore(): Promise<S3ObjectStore> {
  const store = new S3ObjectStore({
    endpoint: minio.endpoint,
    port: minio.port,
    useSSL: false,
    bucket: `pathgen-stage-${randomUUID().slice(0, 8)}`,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
  });
  await store.ensureBucket();
  return store;
}

describeSlideCache('a real MinIO', newStore);

it('reads s3:// references of the configured bucket as store keys', async () => {
  const store = await newStore();
  expect(parseSlideReference(`${store.description}tcga/x.svs`, store)).toEqual({ kind: 'store', key: 'tcga/x.svs' });
});
