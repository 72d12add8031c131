import { open, type FileHandle } from 'node:fs/promises';
import { slideUnreadable } from './slide-errors.js';

/**
 * One open file handle for the life of a reader: a slide is opened once per activity and then read
 * thousands of times, so reopening per read would cost more than decoding.
 */
export class RandomAccessFile {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<RandomAccessFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw slideUnreadable(path, `cannot open file (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {}, error);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw slideUnreadable(path, 'not a regular file');
      return new RandomAccessFile(path, handle, stat.size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Exactly `length` bytes at `offset`; a file that ends early is a truncated slide. */
  async read(offset: number, length: number): Promise<Buffer> {
    if (this.closed) throw new Error(`read from closed slide file ${this.path}`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw slideUnreadable(this.path, `invalid byte range ${offset}+${length}`);
    }
    if (offset + length > this.size) {
      throw slideUnreadable(this.path, `file is truncated: needs bytes up to ${offset + length}, has ${this.size}`);
    }
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) throw slideUnreadable(this.path, `file is truncated at byte ${offset + done}`);
      done += bytesRead;
    }
    return buffer;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}
