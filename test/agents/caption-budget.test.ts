import { afterEach, describe, expect, it } from 'vitest';
import { createAgents, isUnchanged, shortenToBudget } from '../../activities/agents/index.js';
import { startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import type { FakeOpenAiServer, FakeRequest } from '../helpers/fake-openai-server.js';
import { countTokens, openAiSettings, syntheticPatch } from './agent-test-settings.js';

const words = (text: string): number => text.split(/\s+/).filter(Boolean).length + 2;

describe('shortenToBudget', () => {
  it('keeps whole sentences in order, skipping one that does not fit for a shorter one after it', () => {
    const text =
      'Nuclei are large. Glands are crowded and irregular in a fibrotic desmoplastic stroma. Likely colon cancer.';
    expect(shortenToBudget(text, 10, words)).toBe('Nuclei are large. Likely colon cancer.');
    expect(shortenToBudget(text, 100, words)).toBe(text);
  });

  it('offers the sentences a caller wants first (the organ) before the others', () => {
    const text = 'Nuclei are large and dark. Glands are crowded. This is tissue from the lung.';
    expect(shortenToBudget(text, 11, words, (s) => s.includes('lung'))).toBe(
      'Glands are crowded. This is tissue from the lung.',
    );
  });

  it('cuts a single long sentence at a word boundary, never ending on a dangling word', () => {
    const text =
      'Crowded atypical glands with hyperchromatic nuclei in desmoplastic stroma consistent with adenocarcinoma.';
    expect(shortenToBudget(text, 12, words)).toBe(
      'Crowded atypical glands with hyperchromatic nuclei in desmoplastic stroma.',
    );
    const cut = shortenToBudget(text, 60, countTokens);
    expect(countTokens(cut)).toBeLessThanOrEqual(60);
    expect(cut).toMatch(/^Crowded atypical glands\b.*[a-z]\.$/);
  });
});

describe('the summarize agent on a model', () => {
  let server: FakeOpenAiServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const patch = { imageSha256: 'cd'.repeat(32), project: 'TCGA-LUAD' };
  const description = 'The field shows crowded glands. Nuclei are enlarged.';
  const long =
    'Crowded atypical glands lined by columnar cells with enlarged hyperchromatic nuclei. A desmoplastic stroma surrounds them. Likely adenocarcinoma of the lung.';

  async function summarizer(answers: ((request: FakeRequest) => string)[]) {
    let n = 0;
    const systems: string[] = [];
    server = await startFakeOpenAiServer({
      answers: {
        summarize: (request) => {
          systems.push(request.system);
          return (answers[Math.min(n++, answers.length - 1)] as (request: FakeRequest) => string)(request);
        },
      },
    });
    return { agents: createAgents(openAiSettings(server.baseUrl), { countTokens, env: {} }), systems };
  }

  it('keeps a caption that fits, without its label and quotation marks', async () => {
    const { agents, systems } = await summarizer([() => 'Caption: "Atypical glands, likely lung cancer."']);
    const result = await agents.summarize(patch, description);
    expect(result).toMatchObject({ caption: 'Atypical glands, likely lung cancer.', shortened: 'none' });
    expect(result.tokens).toBe(countTokens(result.caption));
    expect(systems).toHaveLength(1);
    expect(systems[0]).toMatch(/at most 45 words/);
  });

  it('asks once more, more strictly, when the caption is too long', async () => {
    const { agents, systems } = await summarizer([() => long, () => 'Atypical glands; likely lung adenocarcinoma.']);
    const result = await agents.summarize(patch, description);
    expect(result).toMatchObject({ caption: 'Atypical glands; likely lung adenocarcinoma.', shortened: 'retry' });
    expect(systems[1]).toMatch(/previous caption was too long.*at most 33 words/);
    expect(result.usage).toMatchObject({ calls: 1, attempts: 2 });
  });

  it('cuts at a sentence boundary when the stricter answer is still too long, keeping the organ', async () => {
    const { agents } = await summarizer([() => long]);
    const result = await agents.summarize(patch, description);
    expect(result).toMatchObject({
      caption: 'A desmoplastic stroma surrounds them. Likely adenocarcinoma of the lung.',
      shortened: 'extractive',
    });
    expect(result.tokens).toBeLessThanOrEqual(77);
  });

  it('cuts the first answer when the stricter one is invalid', async () => {
    const { agents } = await summarizer([() => long, () => 'I cannot help with that request, sorry.']);
    const result = await agents.summarize(patch, description);
    expect(result.shortened).toBe('extractive');
    expect(long).toContain(result.caption.replace(/\.$/, ''));
  });
});

describe('the revise agent on a model', () => {
  let server: FakeOpenAiServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('takes NO CHANGE as the description standing as it is', async () => {
    server = await startFakeOpenAiServer({ answers: { revise: () => 'NO CHANGE.' } });
    const agents = createAgents(openAiSettings(server.baseUrl), { countTokens, env: {} });
    const description = 'Glands are crowded. Nuclei are enlarged.';
    const result = await agents.revise({ image: syntheticPatch(2) }, description);
    expect(result.revised).toBe(description);
    expect(isUnchanged(result.edits)).toBe(true);
  });
});
