import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleKey } from '../../activities/export/index.js';
import { readReviewRecords } from '../../activities/review/index.js';
import { FsObjectStore } from '../../activities/store/fs-store.js';
import { runCli } from '../helpers/cli-process.js';
import { dottedSlide, plainSlide, writeReviewTestRun } from '../review/review-run.js';

// `pathgen review` as a person runs it: each action prints one line naming its record, refusals
// are one line with exit 2 (what to fix) or 3 (a run or key that is not there), and stats count.

const runId = 'cli-run';
let dir: string;
let store: FsObjectStore;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-review-cli-'));
  store = new FsObjectStore({ root: path.join(dir, 'store') });
  await writeReviewTestRun(store, runId);
  env = { PATHGEN_STORAGE_ROOT: path.join(dir, 'store'), PATHGEN_REVIEWER: 'ana@lab' };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pathgen review', () => {
  it('records a flag, an edit and an accept, one line each naming the record', async () => {
    const flagged = sampleKey(dottedSlide, 0, 0);
    const flag = await runCli(['review', 'flag', '--run', runId, '--key', flagged, '--reason', 'out of focus'], env);
    expect(flag.code, flag.stderr).toBe(0);
    const records = await readReviewRecords(store, runId);
    expect(flag.stdout).toBe(
      `flagged ${flagged} (out of focus) in run ${runId} as ana@lab: ${records[0]?.recordKey}\n`,
    );

    const editedKey = sampleKey(plainSlide, 672, 0);
    const edit = await runCli(
      ['review', 'edit', '--run', runId, '--key', editedKey, '--caption', 'Glands in fibrous stroma.'],
      env,
    );
    expect(edit.code, edit.stderr).toBe(0);
    expect(edit.stdout).toMatch(new RegExp(`^edited the caption of ${editedKey} in run ${runId} as ana@lab: runs/`));

    const accept = await runCli(['review', 'accept', '--run', runId, '--key', sampleKey(plainSlide, 0, 0)], env);
    expect(accept.code, accept.stderr).toBe(0);
    expect((await readReviewRecords(store, runId)).map((review) => review.record.action)).toEqual([
      'flag',
      'edit',
      'accept',
    ]);

    const stats = await runCli(['review', 'stats', '--run', runId, '--json'], env);
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({
      run: { runId, reviewed: 3, flagged: 1, edited: 1, accepted: 1, records: 3 },
      slides: [
        { slideId: dottedSlide, reviewed: 1, flagged: 1 },
        { slideId: 'bad', reviewed: 0 },
        { slideId: plainSlide, reviewed: 2, edited: 1, accepted: 1 },
      ],
    });
    const lines = await runCli(['review', 'stats', '--run', runId], env);
    expect(lines.stdout.split('\n')[0]).toBe(
      `run ${runId}: 3 slides, 8 samples; 3 reviewed (1 flagged, 1 edited, 1 accepted), 3 review records`,
    );
  }, 120_000);

  it('refuses an edit over 77 CLIP tokens, counted with the real tokenizer, saying how many', async () => {
    const caption = 'Dense fibrous stroma with scattered lymphocytes. '.repeat(12);
    const result = await runCli(
      ['review', 'edit', '--run', runId, '--key', sampleKey(plainSlide, 0, 0), '--caption', caption],
      env,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^pathgen review edit: the caption has \d+ CLIP tokens \(start and end included\); the limit is 77: shorten it\n$/,
    );
  });

  it.each([
    [['flag', '--run', runId, '--key', sampleKey(plainSlide, 0, 0), '--reason', ' '], 2, 'a flag needs a reason'],
    [['accept', '--run', runId, '--key', 's2_9_9'], 3, `pathgen review accept: run ${runId} has no sample s2_9_9`],
    [['accept', '--run', 'no-such-run', '--key', 's2_0_0'], 3, 'run no-such-run has no slide records'],
    [['apply', '--run', 'no-such-run'], 3, 'run no-such-run has no slide records'],
    [['stats', '--run', 'no-such-run'], 3, 'run no-such-run has no slide records'],
    [['flag', '--run', runId, '--key', 's2_0_0'], 2, "required option '--reason <text>' not specified"],
  ])('refuses %j with exit %i and one line', async (args, code, message) => {
    const before = (await readReviewRecords(store, runId)).length;
    const result = await runCli(['review', ...args], env);
    expect(result.code, result.stderr).toBe(code);
    expect(result.stderr).toContain(message);
    expect(result.stderr.trim().split('\n')[0]).toContain(message);
    expect(await readReviewRecords(store, runId)).toHaveLength(before);
  });
});
