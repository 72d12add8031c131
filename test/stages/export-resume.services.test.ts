import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeroUsage } from '../../activities/agents/index.js';
import { readExportPointer, sampleKey } from '../../activities/export/index.js';
import type { ExportPointer } from '../../activities/export/index.js';
import type { ExportRunResult } from '../../activities/stages/export.js';
import { runKeys } from '../../activities/contracts/keys.js';
import type { SampleRef, SlideRecord } from '../../activities/contracts/slide-record.js';
import type { ByteRange, ListOptions, ObjectStore } from '../../activities/store/object-store.js';
import { StoreError } from '../../activities/store/store-errors.js';
import type { S3ObjectStore } from '../../activities/store/s3-store.js';
import { runWorkers } from '../../workers/run-workers.js';
import type { pathgenExport } from '../../workflows/export.js';
import { jpegOf } from '../export/export-samples.js';
import { newMinioStore } from '../helpers/minio-store.js';
import { connectTestClient, testWorkerConfig, uniqueQueues } from '../helpers/temporal.js';

// The export on the real services: a worker on a real Temporal server, the store a real MinIO.
// The store fails once (a retryable Unavailable) as the fourth shard starts; Temporal retries
// the activity with the heartbeat details of the failed attempt, and the retry continues from the
// checkpoint of the third shard, reading no image of the first three. A second, uninterrupted
// export of the same run (a new version) has the same shards, TSV and PathGen JSON, byte for byte,
// joined from their parts by an S3 multipart upload of the streamed parts.

/** The MinIO store, failing the put of one key once, and recording image reads after that. */
class FailingOnceStore implements ObjectStore {
  readonly description: string;
  failed = false;
  /** Image reads of the attempt after the failure (it starts by listing the slide records). */
  retryImageReads: string[] | undefined;

  constructor(
    private readonly inner: S3ObjectStore,
    private readonly failKey: (key: string) => boolean,
  ) {
    this.description = inner.description;
  }

  async put(key: string, body: Uint8Array | Readable, options?: { contentType?: string }) {
    if (!this.failed && this.failKey(key)) {
      this.failed = true;
      throw new StoreError('Unavailable', `injected: object store unreachable for ${key}`, { key });
    }
    return await this.inner.put(key, body, options);
  }
  putIfAbsent(key: string, body: Uint8Array, options?: { contentType?: string }) {
    return this.inner.putIfAbsent(key, body, options);
  }
  async get(key: string) {
    if (key.includes('/patches/')) this.retryImageReads?.push(key);
    return await this.inner.get(key);
  }
  getStream(key: string, range?: ByteRange) {
    return this.inner.getStream(key, range);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  exists(key: string) {
    return this.inner.exists(key);
  }
  listPage(prefix: string, options?: ListOptions) {
    if (this.failed && this.retryImageReads === undefined) this.retryImageReads = [];
    return this.inner.listPage(prefix, options);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  readUrl(key: string, expirySeconds?: number) {
    return this.inner.readUrl(key, expirySeconds);
  }
}

const runId = `resume-${randomUUID().slice(0, 8)}`;
const createdAt = '2025-03-01T12:00:00.000Z';
const slideIds = ['TCGA-AA-3844-01Z-00-DX1.bf88ce1f', 's', 's_1'];

/** Three slides of 10 captioned samples each; returns the sample keys in export order with their image keys. */
async function writeRun(store: ObjectStore): Promise<Array<{ key: string; jpegKey: string }>> {
  const samples: Array<{ key: string; jpegKey: string }> = [];
  for (const slideId of slideIds) {
    const refs: SampleRef[] = [];
    for (let i = 0; i < 10; i++) {
      const id = `${i % 2}_${i * 672}`;
      const jpegKey = `runs/${runId}/patches/${slideId}/${id}.jpg`;
      const recordKey = `runs/${runId}/records/${slideId}/${id}.json`;
      await store.put(jpegKey, await jpegOf(i * 3 + slideId.length));
      await store.put(recordKey, Buffer.from(JSON.stringify({ caption: `${slideId} caption ${i}\twith a tab` })));
      refs.push({ id, x: i % 2, y: i * 672, level: 0, size: 672, jpegKey, recordKey });
      samples.push({ key: sampleKey(slideId, i % 2, i * 672), jpegKey });
    }
    const record: SlideRecord = {
      runId,
      slideId,
      slide: `slides/${slideId}.svs`,
      ...(slideId === 's_1' ? {} : { project: 'TCGA-LUAD' }),
      status: 'completed',
      counts: {},
      failures: {},
      usage: zeroUsage,
      samples: refs,
      prefixes: {},
      startedAt: createdAt,
      finishedAt: createdAt,
    };
    await store.put(runKeys.slideRecord(runId, slideId), Buffer.from(JSON.stringify(record)));
  }
  return samples.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

describe('exportRun on a real Temporal server and MinIO', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-export-resume-'));
  const queues = uniqueQueues('export-resume');
  let store: FailingOnceStore;
  let stop!: () => void;
  let workers: Promise<void>;

  beforeAll(async () => {
    store = new FailingOnceStore(await newMinioStore('export-resume'), (key) => key.endsWith('/shard-000003.tar'));
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    workers = runWorkers({ config: testWorkerConfig(queues, dir), roles: ['cpu'], store, until: stopped });
  });

  afterAll(async () => {
    stop();
    await workers;
  });

  async function exportOnce(): Promise<ExportRunResult> {
    const { client, connection } = await connectTestClient();
    try {
      return await client.workflow.execute<typeof pathgenExport>('pathgenExport', {
        taskQueue: queues.cpu,
        workflowId: `export-resume-${randomUUID()}`,
        args: [{ runId, samplesPerShard: 4 }],
      });
    } finally {
      await connection.close();
    }
  }

  const versionFile = async (pointer: ExportPointer, name: string) => await store.get(`${pointer.prefix}${name}`);

  it('resumes from the last checkpoint after a retryable failure, and matches an uninterrupted export', async () => {
    const samples = await writeRun(store);
    const resumed = await exportOnce();
    expect(store.failed).toBe(true);
    expect(resumed).toMatchObject({ samples: 30, shards: 8, slides: 3, failedSlides: 0, written: true });
    // The retry read only the images after the third shard's last sample.
    expect(store.retryImageReads?.sort()).toEqual(
      samples
        .slice(12)
        .map((sample) => sample.jpegKey)
        .sort(),
    );
    const first = (await readExportPointer(store, `exports/${runId}`))!;
    expect(first.version).toBe(resumed.version);
    expect((await store.listPage(`${first.prefix}parts/`)).objects).toEqual([]);

    const again = await exportOnce();
    expect(again).toMatchObject({ ...resumed, version: again.version, urlPattern: again.urlPattern });
    expect(again.version).not.toBe(resumed.version);
    const second = (await readExportPointer(store, `exports/${runId}`))!;
    expect(second.previousVersions).toEqual([first.version]);
    for (let shard = 0; shard < 8; shard++) {
      const name = `shards/shard-${String(shard).padStart(6, '0')}.tar`;
      expect((await versionFile(first, name)).equals(await versionFile(second, name)), name).toBe(true);
    }
    for (const name of ['captions.tsv', 'pathgen.json']) {
      expect((await versionFile(first, name)).equals(await versionFile(second, name)), name).toBe(true);
    }
    const tsv = (await versionFile(first, 'captions.tsv')).toString('utf8').split('\n');
    expect(tsv[0]).toBe('filepath\tcaption');
    expect(tsv).toHaveLength(32);
    const cards = await Promise.all(
      [first, second].map(async (pointer) => JSON.parse((await versionFile(pointer, 'dataset-card.json')).toString())),
    );
    expect(cards[0].statistics).toEqual(cards[1].statistics);
    expect(cards[0].statistics).toMatchObject({ samples: 30, slides: 3 });
  }, 120_000);
});
