import type { Readable } from 'node:stream';
import { isStoreError } from './store-errors.js';

// The object store is where pixels, embeddings and texts live: Temporal payloads carry only keys.
// Keys are '/'-separated relative paths ("runs/r1/slides/s1/candidates.jsonl"), never starting
// with '/', never containing '..' or empty segments.

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  etag?: string;
}

/** What a write reports: enough to log or check it, without another round trip to the store. */
export interface PutResult {
  key: string;
  size: number;
  etag?: string;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Pass back as `startAfter` to get the next page; undefined when the listing is complete. */
  nextStartAfter?: string;
}

export interface ListOptions {
  /** Only keys that sort strictly after this one. */
  startAfter?: string;
  /** Page size; implementations cap it at 1,000. */
  limit?: number;
}

export interface ByteRange {
  start: number;
  /** Inclusive end offset; omitted reads to the end of the object. */
  end?: number;
}

export interface ObjectStore {
  /** Human-readable location, e.g. "fs:/data/store" or "s3://bucket". */
  readonly description: string;

  put(key: string, body: Uint8Array | Readable, options?: { contentType?: string }): Promise<PutResult>;
  /**
   * Creates the object only if no object has that key. Exactly one of several concurrent callers
   * gets `true`; the others get `false` and the object keeps the winner's bytes.
   */
  putIfAbsent(key: string, body: Uint8Array, options?: { contentType?: string }): Promise<boolean>;
  get(key: string): Promise<Buffer>;
  getStream(key: string, range?: ByteRange): Promise<Readable>;
  /** Metadata of an object, or undefined when there is none. */
  head(key: string): Promise<ObjectInfo | undefined>;
  exists(key: string): Promise<boolean>;
  /** One page of the keys under a prefix, in lexicographic order. */
  listPage(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Deletes an object; deleting a missing object is not an error (idempotent). */
  delete(key: string): Promise<void>;
  /** A URL a person or another process can read the object from (file:// or presigned http(s)://). */
  readUrl(key: string, expirySeconds?: number): Promise<string>;
  /** Stores whose objects are files on this machine say where, so readers need no local copy. */
  localFile?(key: string): string;
}

/** Every object under a prefix, page after page, without holding the whole listing in memory. */
export async function* listAll(store: ObjectStore, prefix: string, pageSize = 1000): AsyncGenerator<ObjectInfo> {
  let startAfter: string | undefined;
  for (;;) {
    const page = await store.listPage(prefix, { startAfter, limit: pageSize });
    yield* page.objects;
    if (page.nextStartAfter === undefined) return;
    startAfter = page.nextStartAfter;
  }
}

/** An object's bytes, or undefined when there is none: one request where exists-then-get takes two. */
export async function getIfExists(store: ObjectStore, key: string): Promise<Buffer | undefined> {
  try {
    return await store.get(key);
  } catch (error) {
    if (isStoreError(error, 'NotFound')) return undefined;
    throw error;
  }
}
