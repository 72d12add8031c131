import { describe, expect, inject, it } from 'vitest';
import { S3ObjectStore } from '../../activities/store/s3-store.js';
import { isStoreError } from '../../activities/store/store-errors.js';
import { describeStoreContract } from './store-contract.js';
import { newMinioStore } from '../helpers/minio-store.js';

const minio = inject('minio');

describeStoreContract('S3 on a real MinIO', () => newMinioStore('store'));
describeStoreContract('S3 on a real MinIO, with a key prefix', () => newMinioStore('store', 'deployments/lab-a'));

describe('S3ObjectStore errors', () => {
  it('maps wrong credentials to Denied', async () => {
    const store = new S3ObjectStore({ ...minioOptions(), accessKey: 'wrong', secretKey: 'wrong-secret' });
    await expect(store.put('x', Buffer.from('x'))).rejects.toSatisfy((error) => isStoreError(error, 'Denied'));
  });

  it('maps a missing bucket to Misconfigured with the fix', async () => {
    const store = new S3ObjectStore({ ...minioOptions(), bucket: 'no-such-bucket-here' });
    await expect(store.get('x')).rejects.toSatisfy(
      (error) => isStoreError(error, 'Misconfigured') && /pathgen store init/.test((error as Error).message),
    );
  });

  it('maps an unreachable server to a retryable Unavailable', async () => {
    const store = new S3ObjectStore({ ...minioOptions(), port: 1 });
    await expect(store.head('x')).rejects.toSatisfy((error) => isStoreError(error, 'Unavailable') && error.retryable);
  });
});

function minioOptions() {
  return {
    endpoint: minio.endpoint,
    port: minio.port,
    useSSL: false,
    bucket: 'unused',
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
  };
}
