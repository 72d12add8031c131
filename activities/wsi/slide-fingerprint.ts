import { createHash } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

// Which converted copy belongs to a slide, without reading the whole slide: size, modification
// time and sampled bytes (the head, where TIFF directories and headers sit, the tail, and blocks
// spread between) identify a file the way rsync's quick check does, in milliseconds for any size.
// A slide rewritten in place keeps its size rarely and its mtime never.

const sampleBytes = 64 * 1024;
const spreadSamples = 16;

/** One file's identity: size, mtime and its sampled bytes, hashed. */
async function addFile(hash: ReturnType<typeof createHash>, file: string): Promise<void> {
  const info = await stat(file);
  hash.update(`${basename(file)}\0${info.size}\0${Math.round(info.mtimeMs)}\0`);
  const handle = await open(file, 'r');
  try {
    const offsets = new Set<number>([0, Math.max(0, info.size - sampleBytes)]);
    for (let i = 1; i <= spreadSamples; i++)
      offsets.add(Math.floor((info.size * i) / (spreadSamples + 1) / 4096) * 4096);
    const buffer = Buffer.alloc(sampleBytes);
    for (const offset of [...offsets].sort((a, b) => a - b)) {
      const { bytesRead } = await handle.read(buffer, 0, sampleBytes, offset);
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

/** A SHA-256 over the fingerprints of the slide's files (for MIRAX, the index and its data folder). */
export async function slideFingerprint(path: string): Promise<string> {
  const hash = createHash('sha256').update('pathgen slide fingerprint v1\0');
  await addFile(hash, path);
  if (extname(path).toLowerCase() === '.mrxs') {
    const companion = join(dirname(path), basename(path, extname(path)));
    const names = await readdir(companion).catch(() => [] as string[]);
    for (const name of names.sort()) await addFile(hash, join(companion, name));
  }
  return hash.digest('hex');
}
