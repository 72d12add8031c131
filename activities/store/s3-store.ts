import { Client, S3Error } from 'minio';
import { Transform, pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import type { ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore, PutResult } from './object-store.js';
import { StoreError, assertValidKey, assertValidPrefix } from './store-errors.js';

export interface S3StoreOptions {
  endpoint: string;
  port?: number;
  useSSL: boolean;
  bucket: string;
  region?: string;
  /** Optional key prefix inside the bucket, so several deployments can share one bucket. */
  prefix?: string;
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
}

const MAX_PAGE = 1000;

/** S3-compatible store (AWS S3, MinIO, Ceph RGW, …) through the `minio` client. */
export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3StoreOptions) {
    this.client = new Client({
      endPoint: options.endpoint,
      port: options.port,
      useSSL: options.useSSL,
      region: options.region,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      sessionToken: options.sessionToken,
      // A stream of unknown length (an export's shard, the joined TSV) is uploaded in parts held in
      // memory; without a fixed size minio-js sizes them for a 5 TiB object (~525 MiB each). 16 MiB
      // parts keep an upload's memory small and still allow objects up to 160 GB (10,000 parts).
      partSize: 16 * 1024 * 1024,
    });
    this.bucket = options.bucket;
    this.prefix = options.prefix ? options.prefix.replace(/\/*$/, '/') : '';
    this.description = `s3://${this.bucket}/${this.prefix}`;
  }

  async bucketExists(): Promise<boolean> {
    return this.call('(bucket)', () => this.client.bucketExists(this.bucket));
  }

  /** Creates the bucket when it does not exist yet; used by `pathgen store init` and the dev setup. */
  async ensureBucket(): Promise<boolean> {
    return this.call('(bucket)', async () => {
      if (await this.bucketExists()) return false;
      await this.client.makeBucket(this.bucket);
      return true;
    });
  }

  async put(key: string, body: Uint8Array | Readable, options?: { contentType?: string }): Promise<PutResult> {
    const name = this.nameOf(key);
    // Count a stream's bytes on the way through, so the result needs no HEAD request afterwards.
    let size = body instanceof Uint8Array ? body.byteLength : 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        done(null, chunk);
      },
    });
    // pipeline() destroys the counter when the source fails, so the upload fails too instead of hanging.
    const upload = body instanceof Uint8Array ? toBody(body) : pipeline(body, counter, () => undefined);
    const uploaded = await this.call(key, () =>
      this.client.putObject(this.bucket, name, upload, undefined, contentType(options)),
    );
    return { key, size, etag: uploaded.etag };
  }

  async putIfAbsent(key: string, body: Uint8Array, options?: { contentType?: string }): Promise<boolean> {
    const name = this.nameOf(key);
    try {
      // S3 conditional write: the server refuses the PUT with 412 when the key already exists.
      await this.call(key, () =>
        this.client.putObject(this.bucket, name, Buffer.from(body), body.byteLength, {
          ...contentType(options),
          'If-None-Match': '*',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof StoreError && error.code === 'Conflict') return false;
      throw error;
    }
  }

  async get(key: string): Promise<Buffer> {
    const stream = await this.getStream(key);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream) chunks.push(chunk as Buffer);
    } catch (error) {
      throw mapS3Error(error, key);
    }
    return Buffer.concat(chunks);
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const name = this.nameOf(key);
    if (!range) return this.call(key, () => this.client.getObject(this.bucket, name));
    const length = range.end === undefined ? undefined : range.end - range.start + 1;
    return this.call(key, () => this.client.getPartialObject(this.bucket, name, range.start, length));
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const name = this.nameOf(key);
    try {
      const stat = await this.call(key, () => this.client.statObject(this.bucket, name));
      return { key, size: stat.size, lastModified: stat.lastModified, etag: stat.etag };
    } catch (error) {
      if (error instanceof StoreError && error.code === 'NotFound') return undefined;
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  async listPage(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    assertValidPrefix(prefix);
    const limit = Math.max(1, Math.min(options.limit ?? MAX_PAGE, MAX_PAGE));
    const startAfter = options.startAfter === undefined ? '' : this.prefix + options.startAfter;
    const result = await this.call(prefix, () =>
      this.client.listObjectsV2Query(this.bucket, this.prefix + prefix, '', '', limit, startAfter),
    );
    const objects: ObjectInfo[] = result.objects.flatMap((item) =>
      item.name === undefined
        ? []
        : [
            {
              key: item.name.slice(this.prefix.length),
              size: item.size,
              lastModified: item.lastModified,
              etag: item.etag,
            },
          ],
    );
    const last = objects[objects.length - 1];
    return result.isTruncated && last ? { objects, nextStartAfter: last.key } : { objects };
  }

  async delete(key: string): Promise<void> {
    const name = this.nameOf(key);
    await this.call(key, () => this.client.removeObject(this.bucket, name));
  }

  async readUrl(key: string, expirySeconds = 3600): Promise<string> {
    const name = this.nameOf(key);
    return this.call(key, () => this.client.presignedGetObject(this.bucket, name, expirySeconds));
  }

  private nameOf(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  private async call<T>(key: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw mapS3Error(error, key, this.bucket);
    }
  }
}

function toBody(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function contentType(options?: { contentType?: string }): Record<string, string> {
  return options?.contentType ? { 'Content-Type': options.contentType } : {};
}

const notFoundCodes = new Set(['NoSuchKey', 'NotFound']);
const deniedCodes = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken']);
const conflictCodes = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

function mapS3Error(error: unknown, key: string, bucket?: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message ?? String(error);
  const details = { key, bucket, s3Code: code };
  if (notFoundCodes.has(code)) return new StoreError('NotFound', `no object ${key}`, details, error);
  if (conflictCodes.has(code)) return new StoreError('Conflict', `object ${key} already exists`, details, error);
  if (deniedCodes.has(code)) return new StoreError('Denied', `access denied for ${key}: ${message}`, details, error);
  if (code === 'NoSuchBucket') {
    return new StoreError(
      'Misconfigured',
      `bucket ${bucket ?? ''} does not exist: create it with \`pathgen store init\``,
      details,
      error,
    );
  }
  if (networkCodes.has(code)) {
    return new StoreError('Unavailable', `object store unreachable (${code}): ${message}`, details, error);
  }
  if (!(error instanceof S3Error) && code === '') {
    // The client refused the call before sending it (bad bucket name, endpoint or argument).
    return new StoreError('Misconfigured', `object store client error: ${message}`, details, error);
  }
  return new StoreError('Unavailable', `object store error for ${key}: ${code} ${message}`, details, error);
}
