import { describe, expect, it } from 'vitest';
import { proseProblem, repeatedNgramRatio } from '../../activities/agents/index.js';

describe('proseProblem', () => {
  it('accepts an ordinary description', () => {
    expect(
      proseProblem(
        'The field shows crowded glands lined by columnar cells with elongated, hyperchromatic nuclei. The stroma between them is desmoplastic, and scattered lymphocytes are present.',
      ),
    ).toBeUndefined();
  });

  it.each([
    "I'm sorry, but I can't help with that.",
    'I cannot provide a diagnosis from this image.',
    'Unfortunately, I am unable to view images.',
    'The image is blurry; I am unable to determine the tissue type.',
  ])('flags a refusal: %s', (text) => {
    expect(proseProblem(text)).toBe('the model refused');
  });

  it.each([
    'As an AI, I see glands.',
    'Based on the provided context, this is adenocarcinoma.',
    'Following the instructions, the nuclei are large.',
    'According to the report, margins are clear.',
  ])('flags talk about the instructions or context: %s', (text) => {
    expect(proseProblem(text)).toBe('the answer talks about the instructions or the context');
  });

  it('flags runaway repetition, but not a few repeated words', () => {
    const loop = 'The nuclei are enlarged and hyperchromatic. '.repeat(12);
    expect(repeatedNgramRatio(loop)).toBeGreaterThan(0.8);
    expect(proseProblem(loop)).toMatch(/^runaway repetition \(\d+% of 4-word sequences repeat\)$/);
    expect(proseProblem(`Nuclei are large. ${'.'.repeat(60)}`)).toBe('runaway repetition of one character');
    const varied =
      'The nuclei are enlarged. The nuclei are hyperchromatic. Glands are crowded and irregular, the stroma is fibrotic, lymphocytes are scattered and vessels are congested.';
    expect(repeatedNgramRatio(varied)).toBeLessThan(0.2);
    expect(proseProblem(varied)).toBeUndefined();
  });
});
