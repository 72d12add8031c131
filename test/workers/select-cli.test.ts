import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';
import { writeTinyClipModel } from '../../workers/synthetic/clip-models/tiny-clip-model.js';
import { writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

// `pathgen select`: the select stage on one slide, locally, model-free and with a CLIP model directory.

describe('pathgen select', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-select-cli-'));
  let slide: string;
  let candidates: string;
  let model: string;

  beforeAll(async () => {
    slide = (await writeSyntheticSvs(path.join(dir, 'slide.svs'), { width: 9000, height: 7000, seed: 21 })).path;
    const tiled = await runCli(['tile', slide, '--out', path.join(dir, 'tile')]);
    if (tiled.code !== 0) throw new Error(tiled.stderr);
    candidates = path.join(dir, 'tile', 'candidates.jsonl');
    model = await writeTinyClipModel(path.join(dir, 'model'), { seed: 2, imageSize: 32 });
  }, 60_000);

  const lines = (out: string) =>
    readFileSync(path.join(out, 'selection.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { x: number; y: number; routes: string[]; file: string });

  it('selects model-free without a model and says why each patch was kept', async () => {
    const out = path.join(dir, 'free');
    const result = await runCli(['select', slide, '--candidates', candidates, '--out', out, '--project', 'LUAD']);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { mode: string; selected: number; candidates: number };
    expect(summary.mode).toBe('model-free');
    const kept = lines(out);
    expect(kept).toHaveLength(summary.selected);
    expect(kept.every((line) => line.routes.length > 0)).toBe(true);
    expect(readdirSync(path.join(out, 'patches')).sort()).toEqual(kept.map((line) => path.basename(line.file)).sort());
  });

  it('scores with a CLIP model directory and the report findings; the same seed gives the same selection', async () => {
    const report = path.join(dir, 'report.txt');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(report, 'Invasive adenocarcinoma, acinar predominant.');
    const args = (out: string) => [
      'select',
      slide,
      '--candidates',
      candidates,
      '--out',
      out,
      '--project',
      'TCGA-LUAD',
      '--model',
      model,
      '--report',
      report,
      '--seed',
      '4',
    ];
    const first = await runCli(args(path.join(dir, 'clip-1')));
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout) as { mode: string; routes: string[]; prompts: { findings: string[] } };
    expect(summary.mode).toBe('clip');
    expect(summary.routes).toEqual(expect.arrayContaining(['attributes', 'findings', 'cluster']));
    expect(summary.prompts.findings).toEqual(['invasive adenocarcinoma, acinar predominant']);
    const second = await runCli(args(path.join(dir, 'clip-2')));
    expect(second.code, second.stderr).toBe(0);
    const strip = (out: string) => lines(out).map(({ file: _file, ...line }) => line);
    expect(strip(path.join(dir, 'clip-2'))).toEqual(strip(path.join(dir, 'clip-1')));
  });

  it('exits 2 for an unknown project and a missing model', async () => {
    const badProject = await runCli(['select', slide, '--candidates', candidates, '--out', dir, '--project', 'XYZ']);
    expect(badProject.code).toBe(2);
    const missingModel = await runCli([
      'select',
      slide,
      '--candidates',
      candidates,
      '--out',
      dir,
      '--project',
      'LUAD',
      '--model',
      path.join(dir, 'nope'),
    ]);
    expect(missingModel.code).toBe(2);
    expect(missingModel.stderr).toMatch(/ModelNotFound/);
  });
});
