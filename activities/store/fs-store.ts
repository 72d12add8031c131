import { randomUUID } from 'node:crypto';
import { link, mkdir, open, opendir, rename, rm, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore, PutResult } from './object-store.js';
import { StoreError, assertValidKey, assertValidPrefix } from './store-errors.js';

export interface FsStoreOptions {
  root: string;
}

// Half-written objects live here until they are renamed into place, so a writer killed mid-write
// never leaves a partial object under its key. The folder sits inside the root so rename stays on
// one filesystem (and therefore atomic).
const TEMP_DIR = '.tmp';
const MAX_PAGE = 1000;

export class FsObjectStore implements ObjectStore {
  readonly description: string;
  private readonly root: string;

  constructor(options: FsStoreOptions) {
    this.root = path.resolve(options.root);
    this.description = `fs:${this.root}`;
  }

  async put(key: string, body: Uint8Array | Readable, _options?: { contentType?: string }): Promise<PutResult> {
    const target = this.pathOf(key);
    const temp = await this.writeTemp(body);
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw mapFsError(error, key);
    }
    const { size } = await this.infoOf(key, target);
    return { key, size };
  }

  async putIfAbsent(key: string, body: Uint8Array, _options?: { contentType?: string }): Promise<boolean> {
    const target = this.pathOf(key);
    const temp = await this.writeTemp(body);
    try {
      await mkdir(path.dirname(target), { recursive: true });
      // link() fails with EEXIST when the key exists: the filesystem decides the race, not us.
      await link(temp, target);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw mapFsError(error, key);
    } finally {
      await rm(temp, { force: true });
    }
  }

  async get(key: string): Promise<Buffer> {
    const handle = await this.openForRead(key);
    try {
      return await handle.readFile();
    } catch (error) {
      throw mapFsError(error, key);
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const handle = await this.openForRead(key);
    // The stream owns the handle from here on and closes it when done or destroyed.
    return handle.createReadStream({ start: range?.start, end: range?.end, autoClose: true });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      return await this.infoOf(key, this.pathOf(key));
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
    const objects: ObjectInfo[] = [];
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash === -1 ? '' : prefix.slice(0, slash + 1);
    for await (const key of this.walk(baseKey, prefix, options.startAfter)) {
      if (objects.length === limit) {
        return { objects, nextStartAfter: objects[objects.length - 1]?.key };
      }
      objects.push(await this.infoOf(key, this.pathOf(key)));
    }
    return { objects };
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw mapFsError(error, key);
    }
  }

  async readUrl(key: string): Promise<string> {
    const target = this.pathOf(key);
    await this.infoOf(key, target);
    return pathToFileURL(target).href;
  }

  localFile(key: string): string {
    return this.pathOf(key);
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    if (key.split('/')[0] === TEMP_DIR) {
      throw new StoreError('InvalidKey', `keys may not start with ${TEMP_DIR}/`, { key });
    }
    return path.join(this.root, ...key.split('/'));
  }

  private async writeTemp(body: Uint8Array | Readable): Promise<string> {
    const dir = path.join(this.root, TEMP_DIR);
    const temp = path.join(dir, `${randomUUID()}.part`);
    try {
      await mkdir(dir, { recursive: true });
      const handle = await open(temp, 'wx');
      try {
        if (body instanceof Uint8Array) await handle.writeFile(body);
        else for await (const chunk of body) await handle.write(chunk as Uint8Array);
        // Data on disk before the rename makes it visible: a crash cannot expose an empty file.
        await handle.datasync();
      } finally {
        await handle.close();
      }
      return temp;
    } catch (error) {
      await rm(temp, { force: true });
      throw mapFsError(error, '(temporary file)');
    }
  }

  private async openForRead(key: string): Promise<FileHandle> {
    try {
      const handle = await open(this.pathOf(key), 'r');
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        throw new StoreError('NotFound', `no object ${key}`, { key });
      }
      return handle;
    } catch (error) {
      throw mapFsError(error, key);
    }
  }

  private async infoOf(key: string, file: string): Promise<ObjectInfo> {
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new StoreError('NotFound', `no object ${key}`, { key });
      return { key, size: info.size, lastModified: info.mtime };
    } catch (error) {
      throw mapFsError(error, key);
    }
  }

  /**
   * Keys under `baseKey` (a folder key ending in '/' or '') that start with `prefix` and sort after
   * `startAfter`, in lexicographic order of the whole key. Folders sort as "name/" so that "a/b"
   * comes after "a-c", as it does in S3. Whole folders before `startAfter` are skipped unread.
   */
  private async *walk(baseKey: string, prefix: string, startAfter: string | undefined): AsyncGenerator<string> {
    let dir;
    try {
      dir = await opendir(baseKey === '' ? this.root : path.join(this.root, ...baseKey.slice(0, -1).split('/')));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw mapFsError(error, baseKey);
    }
    const entries: { key: string; isDir: boolean }[] = [];
    for await (const entry of dir) {
      if (baseKey === '' && entry.name === TEMP_DIR) continue;
      const isDir = entry.isDirectory();
      if (!isDir && !entry.isFile()) continue;
      entries.push({ key: baseKey + entry.name + (isDir ? '/' : ''), isDir });
    }
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const entry of entries) {
      const overlapsPrefix = entry.key.startsWith(prefix) || (entry.isDir && prefix.startsWith(entry.key));
      if (!overlapsPrefix) continue;
      if (startAfter !== undefined && entry.key <= startAfter && !startAfter.startsWith(entry.key)) continue;
      if (entry.isDir) {
        yield* this.walk(entry.key, prefix, startAfter);
      } else if (startAfter === undefined || entry.key > startAfter) {
        yield entry.key;
      }
    }
  }
}

function mapFsError(error: unknown, key: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const details = { key, errno: code };
  switch (code) {
    case 'ENOENT':
    case 'EISDIR':
      return new StoreError('NotFound', `no object ${key}`, details, error);
    case 'ENOTDIR':
    case 'EEXIST':
      return new StoreError('Conflict', `${key} clashes with an existing object or folder`, details, error);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StoreError('Denied', `permission denied for ${key}`, details, error);
    default:
      return new StoreError('Unavailable', `filesystem error for ${key}: ${(error as Error).message}`, details, error);
  }
}
