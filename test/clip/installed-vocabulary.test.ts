import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { captionTokenizer, installedClipVocabulary } from '../../workers/caption-tokenizer.js';

// The real CLIP vocabulary that infra/install-tools.sh fetches from the open_clip wheel (the
// caption budget counts with it). Ids below are the ones OpenAI's CLIP README examples produce.
describe('installed CLIP vocabulary', () => {
  it('is installed', () => {
    expect(existsSync(installedClipVocabulary), `missing ${installedClipVocabulary}: run infra/install-tools.sh`).toBe(
      true,
    );
  });

  it('tokenizes as CLIP does', async () => {
    const tokenizer = await captionTokenizer({});
    const unpadded = (text: string) => [...tokenizer.encode(text)];
    expect(unpadded('a photo of a cat')).toEqual([320, 1125, 539, 320, 2368]);
    expect(unpadded('a diagram')).toEqual([320, 22697]);
    expect(unpadded('A dog!')).toEqual([320, 1929, 256]);
    expect(tokenizer.countTokens('a photo of a cat')).toBe(7);
    const { ids } = tokenizer.tokenize(['a dog']);
    expect([...ids.slice(0, 5)]).toEqual([49406, 320, 1929, 49407, 0]);
  });
});
