import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../activities/clip/index.js';
import { isPathgenError } from '../../activities/common/errors.js';
import {
  tiny,
  tinyHuggingFaceJson,
  tinyMerges,
  writeTinyBpeFile,
} from '../../workers/synthetic/clip-models/tiny-vocabulary.js';

let dir: string;
let reference: ClipTokenizer;
const sample = "The tumor\u2019s cells... 12 CAFÉ &amp; 中 😀 don't";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pathgen-clip-files-'));
  reference = ClipTokenizer.fromMerges(tinyMerges);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string; details: object }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isPathgenError(error)) throw new Error(`expected a PathgenError, got ${String(error)}`);
  return { code: error.code, message: error.message, details: error.details };
}

describe('reading open_clip merge files', () => {
  it('gives the ids of the in-memory merges', async () => {
    const fromFile = await ClipTokenizer.fromBpeFile(await writeTinyBpeFile(dir));
    expect(fromFile.encode(sample)).toEqual(reference.encode(sample));
  });

  it('counts the empty line after a final newline as a token, like open_clip', async () => {
    // open_clip keeps lines[1 : 48895]; for a short file that slice includes the '' after the last
    // newline, which becomes one more (never produced) vocabulary entry before the special tokens.
    const withNewline = await ClipTokenizer.fromBpeFile(await writeTinyBpeFile(dir, 'newline.txt.gz', true));
    expect(withNewline.vocabularySize).toBe(tiny.size + 1);
    expect([withNewline.startTokenId, withNewline.endTokenId]).toEqual([tiny.start + 1, tiny.end + 1]);
    expect(withNewline.encode('the cells')).toEqual([tiny.the, tiny.cells]);
  });

  it('reports a missing file as TokenizerInvalid', async () => {
    const error = await failure(ClipTokenizer.fromBpeFile(join(dir, 'absent.txt.gz')));
    expect(error.code).toBe('TokenizerInvalid');
    expect(error.details).toMatchObject({ code: 'ENOENT' });
  });

  it('reports a file that is not gzip as TokenizerInvalid', async () => {
    const path = await write('plain.txt.gz', ['#version: 0.2', ...tinyMerges].join('\n'));
    expect(await failure(ClipTokenizer.fromBpeFile(path))).toMatchObject({
      code: 'TokenizerInvalid',
      details: { source: path, reason: 'not a gzip file' },
    });
  });

  it('reports gzip that is not UTF-8 as TokenizerInvalid', async () => {
    const path = await write('latin1.txt.gz', gzipSync(Buffer.from([0x23, 0x0a, 0x74, 0x20, 0xe9, 0xff])));
    expect(await failure(ClipTokenizer.fromBpeFile(path))).toMatchObject({
      code: 'TokenizerInvalid',
      details: { reason: 'not UTF-8 text' },
    });
  });

  it('reports a line that is not a merge pair as TokenizerInvalid, naming it', async () => {
    const path = await write('words.txt.gz', gzipSync('#version: 0.2\nt h\nthe cell nucleus\n'));
    expect(await failure(ClipTokenizer.fromBpeFile(path))).toMatchObject({
      code: 'TokenizerInvalid',
      details: { merge: 2, line: 'the cell nucleus' },
    });
  });

  it('reports a file without merges as TokenizerInvalid', async () => {
    const path = await write('header.txt.gz', gzipSync('#version: 0.2\n'));
    expect(await failure(ClipTokenizer.fromBpeFile(path))).toMatchObject({
      code: 'TokenizerInvalid',
      details: { reason: 'no merges' },
    });
  });
});

describe('reading Hugging Face tokenizer.json', () => {
  it.each(['strings', 'pairs'] as const)('gives open_clip ids with merges written as %s', async (style) => {
    const path = await write(`tokenizer-${style}.json`, JSON.stringify(tinyHuggingFaceJson(style)));
    const hf = await ClipTokenizer.fromHuggingFaceJson(path);
    expect([hf.startTokenId, hf.endTokenId, hf.vocabularySize]).toEqual([tiny.start, tiny.end, tiny.size]);
    expect(hf.encode(sample)).toEqual(reference.encode(sample));
    expect(hf.tokenize([sample], 12).ids).toEqual(reference.tokenize([sample], 12).ids);
    // CLIP's own special-token names are the ones recognised in text.
    expect(hf.encode('<|startoftext|>the')).toEqual([tiny.start, tiny.the]);
  });

  const broken: [string, (json: Record<string, unknown>) => unknown, string][] = [
    ['no model', () => ({ version: '1.0' }), 'no BPE model'],
    ['a WordPiece model', (json) => ({ ...json, model: { type: 'WordPiece', vocab: {} } }), 'no BPE model'],
    ['another word suffix', (json) => ({ ...json, model: { ...model(json), end_of_word_suffix: '##' } }), 'suffix'],
    ['a merge outside the vocabulary', (json) => ({ ...json, model: { ...model(json), merges: ['x y'] } }), 'merge 1'],
    ['a three-part merge', (json) => ({ ...json, model: { ...model(json), merges: [['t', 'h', 'e']] } }), 'merge 1'],
    ['no byte symbols', (json) => ({ ...json, model: { ...model(json), vocab: { th: 0 }, merges: [] } }), 'byte-level'],
    ['a negative id', (json) => ({ ...json, model: { ...model(json), vocab: { a: -1 } } }), 'valid id'],
    ['no special tokens', (json) => withoutSpecials(json), 'no start or end token'],
  ];
  it.each(broken)('reports %s as TokenizerInvalid', async (name, mutate, reason) => {
    const path = await write(`${name.replaceAll(' ', '-')}.json`, JSON.stringify(mutate(tinyHuggingFaceJson())));
    const error = await failure(ClipTokenizer.fromHuggingFaceJson(path));
    expect(error.code).toBe('TokenizerInvalid');
    expect(error.message).toContain(reason);
  });

  it('reports a file that is not JSON as TokenizerInvalid', async () => {
    const path = await write('not.json', '{"model": ');
    expect(await failure(ClipTokenizer.fromHuggingFaceJson(path))).toMatchObject({
      code: 'TokenizerInvalid',
      details: { reason: 'not JSON' },
    });
  });
});

function model(json: Record<string, unknown>): Record<string, unknown> {
  return json.model as Record<string, unknown>;
}

function withoutSpecials(json: Record<string, unknown>): Record<string, unknown> {
  const vocab = { ...(model(json).vocab as Record<string, number>) };
  delete vocab['<|startoftext|>'];
  delete vocab['<|endoftext|>'];
  return { ...json, added_tokens: [], post_processor: null, model: { ...model(json), vocab } };
}
