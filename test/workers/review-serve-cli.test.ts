import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addReviewServeCommand } from '../../workers/commands/review-serve.js';
import { ExitError, exitCodes } from '../../workers/commands/exit-status.js';

// `pathgen review`'s serve subcommand on a fresh commander command (the CLI wires it as the review
// group's default subcommand).

function reviewCommand(): Command {
  const review = new Command('review').exitOverride();
  addReviewServeCommand(review).exitOverride();
  return review;
}

describe('pathgen review (serve)', () => {
  it('offers --run, --port 8787 and --host 127.0.0.1', () => {
    const serve = reviewCommand().commands.find((command) => command.name() === 'serve')!;
    const flags = serve.options.map((option) => [option.long, option.defaultValue]);
    expect(flags).toEqual([
      ['--run', undefined],
      ['--port', '8787'],
      ['--host', '127.0.0.1'],
    ]);
  });

  it('refuses to start on 0.0.0.0 without PATHGEN_REVIEW_TOKEN, with a usage exit', async () => {
    const saved = process.env.PATHGEN_REVIEW_TOKEN;
    delete process.env.PATHGEN_REVIEW_TOKEN;
    try {
      const failure = await reviewCommand()
        .parseAsync(['--host', '0.0.0.0', '--port', '0'], { from: 'user' })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ExitError);
      expect((failure as ExitError).exitCode).toBe(exitCodes.usage);
      expect((failure as ExitError).message).toContain('PATHGEN_REVIEW_TOKEN');
    } finally {
      if (saved !== undefined) process.env.PATHGEN_REVIEW_TOKEN = saved;
    }
  });

  it('rejects a port that is not a port', async () => {
    const failure = await reviewCommand()
      .parseAsync(['--port', '99999'], { from: 'user' })
      .catch((error: unknown) => error);
    expect((failure as ExitError).exitCode).toBe(exitCodes.usage);
  });
});
