import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv } from '../helpers/cli-process.js';
import { repoRoot } from '../../infra/harness/installed-tools.js';
import { tiny, writeTinyBpeFile } from '../../workers/synthetic/clip-models/tiny-vocabulary.js';

function tokenizeCli(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'workers/cli.ts'), 'clip', 'tokenize', ...args],
    {
      cwd: repoRoot,
      env: cleanEnv(),
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('pathgen clip tokenize', () => {
  it('prints one padded id array per input line, and unpadded ids with --unpadded', async () => {
    const vocab = await writeTinyBpeFile(mkdtempSync(path.join(os.tmpdir(), 'pathgen-clip-cli-')));
    const padded = await tokenizeCli(['--vocab', vocab, '--context', '6'], 'The cells\nthe tumor is the tumor\n');
    expect(padded.code, padded.stderr).toBe(0);
    expect(
      padded.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as number[]),
    ).toEqual([
      [tiny.start, tiny.the, tiny.cells, tiny.end, 0, 0],
      [tiny.start, tiny.the, tiny.tumor, tiny.is, tiny.the, tiny.end],
    ]);
    const unpadded = await tokenizeCli(['--vocab', vocab, '--unpadded'], 'the tumor is the tumor\n');
    expect(JSON.parse(unpadded.stdout)).toEqual([
      tiny.start,
      tiny.the,
      tiny.tumor,
      tiny.is,
      tiny.the,
      tiny.tumor,
      tiny.end,
    ]);
  });

  it('fails with a typed message for a bad vocabulary file', async () => {
    const result = await tokenizeCli(['--vocab', path.join(repoRoot, 'package.json')], 'x\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^pathgen: TokenizerInvalid: /);
  });
});
