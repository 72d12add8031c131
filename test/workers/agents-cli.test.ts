import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';
import { startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import type { FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { syntheticPatch } from '../histology/synthetic-patches.js';

// `pathgen agents run`: the cascade over a folder of patches without Temporal, one JSON per patch.

describe('pathgen agents run', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-agents-cli-'));
  const patches = path.join(dir, 'patches');
  const report = path.join(dir, 'report.txt');
  let server: FakeOpenAiServer;

  beforeAll(async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(patches);
    const kinds = [
      { name: 'dense.png', spec: { seed: 1, size: 336, mpp: 0.5, nucleiPerMm2: 6500, stromaEosin: 0.3 } },
      {
        name: 'fatty.png',
        spec: { seed: 2, size: 336, mpp: 0.5, nucleiPerMm2: 600, stromaEosin: 0.05, fatVacuoles: 6 },
      },
    ];
    for (const { name, spec } of kinds) {
      const { image } = syntheticPatch(spec);
      await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
        .png()
        .toFile(path.join(patches, name));
    }
    writeFileSync(path.join(patches, 'broken.jpg'), 'not an image');
    writeFileSync(
      report,
      'Lung, right upper lobe, lobectomy: invasive adenocarcinoma, acinar predominant. Margins negative.',
    );
    server = await startFakeOpenAiServer();
  });
  afterAll(async () => {
    await server.close();
  });

  const env = () => ({ PATHGEN_STORAGE_ROOT: path.join(dir, 'store') });

  it('writes a record per patch with the built-in agents, a failure record for a broken one, and exits 0', async () => {
    const out = path.join(dir, 'out-builtin');
    const args = ['agents', 'run', '--patches', patches, '--out', out, '--project', 'LUAD', '--report', report];
    const result = await runCli([...args, '--mpp', '0.5'], env());
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      patches: number;
      captioned: number;
      failed: number;
      findings: string[];
    };
    expect(summary).toMatchObject({ patches: 3, captioned: 2, failed: 1 });
    expect(summary.findings.join(' ')).toMatch(/adenocarcinoma/i);
    expect(readdirSync(out).sort()).toEqual(['broken.json', 'dense.json', 'fatty.json']);
    const dense = JSON.parse(readFileSync(path.join(out, 'dense.json'), 'utf8'));
    expect(dense.caption).toMatch(/lung/i);
    expect(dense.tokens).toBeLessThanOrEqual(77);
    expect(dense.backends).toEqual({ describe: 'builtin', revise: 'builtin', summarize: 'builtin' });
    expect(dense.promptVersions.describe).toMatch(/builtin-describe/);
    expect(dense.description).toMatch(/dense|crowded|cellular/i);
    const fatty = JSON.parse(readFileSync(path.join(out, 'fatty.json'), 'utf8'));
    expect(fatty.description).toMatch(/adipo|fat/i);
    const broken = JSON.parse(readFileSync(path.join(out, 'broken.json'), 'utf8'));
    expect(broken.failure).toMatchObject({ agent: 'describe', code: 'InvalidInput' });
  });

  it('runs against an OpenAI-compatible server set by the PATHGEN_AGENT_* shortcuts', async () => {
    const out = path.join(dir, 'out-openai');
    const result = await runCli(['agents', 'run', '--patches', patches, '--out', out, '--project', 'TCGA-LUAD'], {
      ...env(),
      PATHGEN_AGENT_BACKEND: 'openai',
      PATHGEN_AGENT_BASE_URL: server.baseUrl,
      PATHGEN_AGENT_MODEL: 'fake-pathology-vlm',
    });
    expect(result.code, result.stderr).toBe(0);
    const dense = JSON.parse(readFileSync(path.join(out, 'dense.json'), 'utf8'));
    expect(dense.models).toEqual({
      describe: 'fake-pathology-vlm',
      revise: 'fake-pathology-vlm',
      summarize: 'fake-pathology-vlm',
    });
    expect(dense.usage.total.attempts).toBeGreaterThanOrEqual(3);
  });

  it('fails fast with exit 2 naming the fix for a wrong model name or a missing key', async () => {
    const before = server.log.length;
    const wrongModel = await runCli(['agents', 'run', '--patches', patches, '--out', path.join(dir, 'x')], {
      ...env(),
      PATHGEN_AGENT_BACKEND: 'openai',
      PATHGEN_AGENT_BASE_URL: server.baseUrl,
      PATHGEN_AGENT_MODEL: 'no-such-model',
    });
    expect(wrongModel.code).toBe(2);
    expect(wrongModel.stderr).toMatch(/no-such-model/);
    // One request per patch in flight at most (3 patches), none retried.
    const sent = server.log.slice(before);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(sent.length).toBeLessThanOrEqual(3);
    expect(new Set(sent.map((entry) => entry.requestKey)).size).toBe(sent.length);

    const noKey = await runCli(['agents', 'run', '--patches', patches, '--out', path.join(dir, 'y')], {
      ...env(),
      PATHGEN_AGENT_BACKEND: 'openai',
      PATHGEN_AGENT_BASE_URL: 'https://models.example.org/v1',
      PATHGEN_AGENT_MODEL: 'some-model',
    });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/PATHGEN_AGENT_API_KEY/);
  });

  it('exits 2 for unusable arguments', async () => {
    const result = await runCli(['agents', 'run', '--patches', path.join(dir, 'missing'), '--out', dir], env());
    expect(result.code).toBe(2);
  });
});
