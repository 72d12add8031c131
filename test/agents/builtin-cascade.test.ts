import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgents, isPatchFailureRecord, runPatchAgents } from '../../activities/agents/index.js';
import type { PatchCaptionRecord, PatchOutcome } from '../../activities/agents/index.js';
import { AgentsConfig } from '../../workers/config/agents-schema.js';
import { startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import type { FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { syntheticPatch } from '../histology/synthetic-patches.js';
import { builtinSettings, countTokens } from './agent-test-settings.js';

// The embedded default: all three patch agents built in, on synthetic H&E patches whose contents
// are known; and a model's description checked by the built-in reviser.

const dense = syntheticPatch({ seed: 1, nucleiPerMm2: 9000, stromaEosin: 0.3 });
const fatty = syntheticPatch({ seed: 2, nucleiPerMm2: 600, stromaEosin: 0.05, fatVacuoles: 12 });
const context = { project: 'TCGA-BRCA', findings: ['invasive ductal carcinoma'] };

function record(outcome: PatchOutcome): PatchCaptionRecord {
  if (isPatchFailureRecord(outcome)) throw new Error(outcome.failure.reason);
  return outcome;
}

describe('the built-in cascade', () => {
  const agents = createAgents(builtinSettings(), { countTokens, env: {} });

  it('describes a dense, eosin-rich patch as such and captions it within budget, naming the organ', async () => {
    const result = record(await runPatchAgents({ image: dense.image, mpp: dense.mpp, ...context }, agents));
    expect(result.description).toMatch(/densely cellular/);
    expect(result.description).toMatch(/strongly eosinophilic/);
    expect(result.caption).toMatch(/breast/);
    expect(result.tokens).toBe(countTokens(result.caption));
    expect(result.tokens).toBeLessThanOrEqual(77);
    expect(result.shortened).toBe('extractive');
    expect(result).toMatchObject({
      backends: { describe: 'builtin', revise: 'builtin', summarize: 'builtin' },
      models: { describe: 'builtin', revise: 'builtin', summarize: 'builtin' },
      promptVersions: { describe: expect.stringMatching(/^builtin-describe\/1\+histology-measurements\//) },
      usage: { total: { calls: 3, attempts: 0, promptTokens: 0, completionTokens: 0 } },
      measurements: { nuclei: expect.objectContaining({ perMm2: expect.any(Number) }) },
    });
    expect(result.revised).toBe(result.description);
  });

  it('describes a fatty, pale patch as such', async () => {
    const result = record(await runPatchAgents({ image: fatty.image, mpp: fatty.mpp, ...context }, agents));
    expect(result.description).toMatch(/sparse/);
    expect(result.description).toMatch(/pale/);
    expect(result.description).toMatch(/[Aa]dipose/);
  });

  it('takes the patch as JPEG bytes as well as pixels', async () => {
    const jpeg = await sharp(dense.image.data, { raw: { width: 672, height: 672, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const result = await agents.describe({ image: jpeg, mpp: dense.mpp, ...context });
    expect(result.description).toMatch(/densely cellular/);
  });
});

describe('a model description revised by the built-in reviser', () => {
  let server: FakeOpenAiServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('deletes the statements the measurements and the project contradict, with the reason', async () => {
    server = await startFakeOpenAiServer({
      answers: {
        describe: () =>
          'Sheets of adipocytes fill the field. Nuclei are densely packed. This is tissue from the lung. Adipose tissue is absent.',
      },
    });
    const model = { backend: 'openai', baseUrl: server.baseUrl, model: 'fake-pathology-vlm', inputSize: 64 };
    const settings = AgentsConfig.parse({ describe: model });
    const agents = createAgents(settings, { countTokens, env: {} });
    const result = record(await runPatchAgents({ image: fatty.image, mpp: fatty.mpp, ...context }, agents));
    expect(result.backends).toEqual({ describe: 'openai', revise: 'builtin', summarize: 'builtin' });
    expect(result.revised).toBe('Sheets of adipocytes fill the field.');
    expect(result.edits.deleted).toEqual([
      'Nuclei are densely packed.',
      'This is tissue from the lung.',
      'Adipose tissue is absent.',
    ]);
    expect(result.edits.reasons?.map((r) => r.reason)).toEqual([
      expect.stringMatching(/dense nuclei/),
      expect.stringMatching(/breast/),
      expect.stringMatching(/fat/),
    ]);
    expect(result.measurements?.fatFraction).toBeGreaterThan(0.2);
    expect(server.log).toHaveLength(1);
  });
});
