import { PathgenError } from '../common/errors.js';

// Our own POSIX ustar writer: WebDataset shards are plain tar files, and every byte of ours is
// fixed by the input (owner 0:0, mode 0644, a given mtime, no user or group names), so exporting
// the same samples twice gives byte-identical shards. Names longer than the 100-byte name field are
// split at a '/' into the 155-byte prefix field when they can be, else carried by a POSIX.1-2001
// pax extended header (`path=`), which GNU tar, bsdtar and Python's tarfile all read.

export const tarBlockSize = 512;

export interface TarEntryOptions {
  /** Modification time in seconds since the epoch; 0 unless given. */
  mtime?: number;
  /** Permission bits; 0o644 unless given. */
  mode?: number;
}

const maxSize = 0o77777777777; // 11 octal digits: 8 GiB - 1
const encoder = new TextEncoder();

/** The header block(s) for a regular file entry: a pax header first when the name needs one. */
export function tarFileHeader(name: string, size: number, options: TarEntryOptions = {}): Buffer {
  if (!Number.isSafeInteger(size) || size < 0 || size > maxSize) {
    throw new PathgenError('InvalidInput', `tar entry ${name} has an unsupported size ${size}`, { name, size });
  }
  const nameBytes = Buffer.from(encoder.encode(name));
  if (nameBytes.length === 0 || nameBytes.includes(0)) {
    throw new PathgenError('InvalidInput', `invalid tar entry name ${JSON.stringify(name)}`, { name });
  }
  const split = splitName(nameBytes);
  if (split !== undefined) return headerBlock({ ...split, size, type: '0', ...options });

  // The pax record names the file in full; the ustar name that follows is a readable fallback.
  const record = paxRecord('path', nameBytes);
  const paxName = Buffer.concat([Buffer.from('PaxHeader/'), lastBytes(nameBytes, 90)]);
  const paxHeader = headerBlock({ name: paxName, prefix: Buffer.alloc(0), size: record.length, type: 'x', ...options });
  const fallback = headerBlock({
    name: lastBytes(nameBytes, 100),
    prefix: Buffer.alloc(0),
    size,
    type: '0',
    ...options,
  });
  return Buffer.concat([paxHeader, record, tarPadding(record.length), fallback]);
}

/** Zero bytes that fill an entry's data up to the next block boundary. */
export function tarPadding(size: number): Buffer {
  const rest = size % tarBlockSize;
  return Buffer.alloc(rest === 0 ? 0 : tarBlockSize - rest);
}

/** The end of an archive: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * tarBlockSize);
}

/** A whole entry (header, data, padding) in one buffer, for small files. */
export function tarFileEntry(name: string, data: Uint8Array, options: TarEntryOptions = {}): Buffer {
  return Buffer.concat([tarFileHeader(name, data.length, options), data, tarPadding(data.length)]);
}

function splitName(name: Buffer): { name: Buffer; prefix: Buffer } | undefined {
  if (name.length <= 100) return { name, prefix: Buffer.alloc(0) };
  // The prefix must end at a '/' (which the split drops) and each part must fit its field.
  for (let slash = name.lastIndexOf(0x2f); slash > 0; slash = name.lastIndexOf(0x2f, slash - 1)) {
    if (slash > 155) continue;
    const rest = name.subarray(slash + 1);
    if (rest.length === 0 || rest.length > 100) return undefined;
    return { name: rest, prefix: name.subarray(0, slash) };
  }
  return undefined;
}

function paxRecord(key: string, value: Buffer): Buffer {
  // "<length> <key>=<value>\n", where <length> counts the whole record, its own digits included.
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function lastBytes(bytes: Buffer, count: number): Buffer {
  return bytes.length <= count ? bytes : bytes.subarray(bytes.length - count);
}

interface HeaderFields extends TarEntryOptions {
  name: Buffer;
  prefix: Buffer;
  size: number;
  type: '0' | 'x';
}

function headerBlock(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(tarBlockSize);
  fields.name.copy(block, 0, 0, 100);
  writeOctal(block, 100, 8, fields.mode ?? 0o644);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, Math.max(0, Math.floor(fields.mtime ?? 0)));
  block.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  block.write(fields.type, 156, 'ascii');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  writeOctal(block, 329, 8, 0); // devmajor
  writeOctal(block, 337, 8, 0); // devminor
  fields.prefix.copy(block, 345, 0, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  // Six octal digits, a NUL and a space, as POSIX and GNU tar write it.
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** `width - 1` zero-padded octal digits and a NUL terminator. */
function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  if (digits.length > width - 1) throw new PathgenError('InvalidInput', `tar field overflow: ${value}`, { value });
  block.write(`${digits}\0`, offset, 'ascii');
}
