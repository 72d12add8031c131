import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';

// `pathgen demo` checks every flag before it starts the Temporal runtime, which would keep the
// process alive after the usage error (it did, for --seed and --epochs).
describe('pathgen demo with a bad flag', () => {
  it.each([
    [['--seed', '1.5'], '--seed takes an integer, got "1.5"'],
    [['--train', '--epochs', 'many'], '--epochs takes an integer, got "many"'],
    [['--slides', '0'], '--slides takes a positive integer'],
  ])('%j exits with the usage code and says why', async (args, message) => {
    const result = await runCli(['demo', ...args], {}, 30_000);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
