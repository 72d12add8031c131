import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { ClipTokenizer } from '../../activities/clip/clip-tokenizer.js';
import { numberFlag } from './command-context.js';

export function addClipCommand(program: Command): void {
  const clip = program.command('clip').description('CLIP utilities for debugging models and prompts.');
  clip
    .command('tokenize')
    .description('Read lines from stdin; print one JSON array of token ids per line, as open_clip.tokenize does.')
    .requiredOption('--vocab <file>', "open_clip's bpe_simple_vocab_16e6.txt.gz, or a Hugging Face tokenizer.json")
    .option('--context <n>', 'context length (padding and truncation)', '77')
    .option('--unpadded', "print each line's ids without padding or truncation (start and end tokens included)")
    .action(async (options: { vocab: string; context: string; unpadded?: boolean }) => {
      const contextLength = numberFlag(options.context, '--context', true);
      const tokenizer = options.vocab.endsWith('.json')
        ? await ClipTokenizer.fromHuggingFaceJson(options.vocab, { contextLength })
        : await ClipTokenizer.fromBpeFile(options.vocab, { contextLength });
      const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
      for await (const line of lines) {
        const ids = options.unpadded
          ? [tokenizer.startTokenId, ...tokenizer.encode(line), tokenizer.endTokenId]
          : Array.from(tokenizer.tokenize([line]).ids);
        process.stdout.write(`${JSON.stringify(ids)}\n`);
      }
    });
}
