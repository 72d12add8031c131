import { expect, it } from 'vitest';
import { newMinioStore } from '../helpers/minio-store.js';
import { parseSlideReference } from '../../activities/staging/slide-reference.js';
import { describeSlideCache } from './slide-cache-contract.js';

const newStore = () => newMinioStore('stage');

describeSlideCache('a real MinIO', newStore);

it('reads s3:// references of the configured bucket as store keys', async () => {
  const store = await newStore();
  expect(parseSlideReference(`${store.description}tcga/x.svs`, store)).toEqual({ kind: 'store', key: 'tcga/x.svs' });
});
