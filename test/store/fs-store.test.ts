import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { repoRoot } from '../../infra/harness/installed-tools.js';
import { describeStoreContract } from './store-contract.js';

const newRoot = () => mkdtempSync(path.join(os.tmpdir(), 'pathgen-fs-store-'));

describeStoreContract('filesystem', () => Promise.resolve(new FsObjectStore({ root: newRoot() })));

describe('FsObjectStore crash safety', () => {
  it('a writer killed mid-write leaves no partial object visible', async () => {
    const root = newRoot();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'test/store/slow-writer.ts'), root, 'slides/big.bin'],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // The writer says "writing" once its stream is under way; kill it hard right then.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('writing')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const store = new FsObjectStore({ root });
    expect(await store.head('slides/big.bin')).toBeUndefined();
    expect((await store.listPage('')).objects).toEqual([]);
    // The half-written bytes exist only as a temporary file, outside every key.
    expect(readdirSync(path.join(root, '.tmp')).length).toBe(1);
    await store.put('slides/big.bin', Buffer.from('complete'));
    expect((await store.get('slides/big.bin')).toString()).toBe('complete');
  });
});
