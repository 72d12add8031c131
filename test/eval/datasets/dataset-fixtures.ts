import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { expect } from 'vitest';
import { isPathgenError } from '../../../activities/common/errors.js';

// Small synthetic datasets on disk: 4×4 PNGs (real images, so a later decode would work) written
// into class folders or listed in CSVs under a fresh temporary folder.

let png: Buffer | undefined;

async function tinyPng(): Promise<Buffer> {
  png ??= await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 200, g: 80, b: 160 } } })
    .png()
    .toBuffer();
  return png;
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `pathgen-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Writes a tiny PNG at each relative path (folders created as needed). */
export async function writeImages(root: string, files: readonly string[]): Promise<void> {
  const bytes = await tinyPng();
  for (const file of files) {
    const target = path.join(root, file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
  }
}

export async function writeText(root: string, file: string, text: string): Promise<string> {
  const target = path.join(root, file);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, text);
  return target;
}

/** What `run` rejected with, checked to be an InvalidDataset error. */
export async function invalidDataset(
  run: Promise<unknown>,
): Promise<{ message: string; details: Record<string, unknown> }> {
  const error = await run.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isPathgenError(error)) throw new Error(`expected a PathgenError, got ${String(error)}`);
  expect(error.code).toBe('InvalidDataset');
  return { message: error.message, details: error.details };
}
