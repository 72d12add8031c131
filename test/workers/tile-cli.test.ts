import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';
import { repoRoot } from '../../infra/harness/installed-tools.js';
import { writeBrokenVariants, writeSyntheticSvs } from '../../workers/synthetic/slides/synthetic-slides.js';

const fixtures = path.join(repoRoot, '..', 'shared', 'fixtures', 'openslide');

describe('pathgen inspect and tile', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pathgen-tile-cli-'));
  let svs: string;
  let broken: Awaited<ReturnType<typeof writeBrokenVariants>>;

  beforeAll(async () => {
    svs = (await writeSyntheticSvs(path.join(dir, 'slide.svs'), { width: 5000, height: 3500, seed: 3 })).path;
    broken = await writeBrokenVariants(svs, dir);
  });

  it('inspect prints levels, mpp, objective power and associated images as JSON', async () => {
    const result = await runCli(['inspect', svs]);
    expect(result.code, result.stderr).toBe(0);
    const metadata = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      format: 'aperio',
      vendor: 'aperio',
      mpp: { x: 0.25, y: 0.25 },
      objectivePower: 40,
    });
    expect((metadata.associatedImages as { name: string }[]).map((image) => image.name).sort()).toEqual([
      'label',
      'macro',
      'thumbnail',
    ]);
    const levels = metadata.levels as { width: number; downsample: number; page: number }[];
    expect(levels[0]).toMatchObject({ width: 5000, downsample: 1, page: 0 });
    expect(levels.every((level, index) => index === 0 || level.page > 1)).toBe(true);
  });

  it('tile writes candidates, metadata, thumbnail and lossless patches', async () => {
    const out = path.join(dir, 'out');
    const result = await runCli(['tile', svs, '--out', out, '--write-patches', '--max', '5', '--seed', '1']);
    expect(result.code, result.stderr).toBe(0);
    const lines = readFileSync(path.join(out, 'candidates.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      const candidate = JSON.parse(line) as {
        x: number;
        y: number;
        level: number;
        width: number;
        height: number;
        tissue: number;
      };
      expect(candidate).toMatchObject({ level: 0, width: 672, height: 672 });
      expect(candidate.tissue).toBeGreaterThan(0.5);
      expect(existsSync(path.join(out, 'patches', `${candidate.x}_${candidate.y}.png`))).toBe(true);
    }
    expect(readdirSync(path.join(out, 'patches'))).toHaveLength(5);
    expect(JSON.parse(readFileSync(path.join(out, 'metadata.json'), 'utf8'))).toHaveProperty('grid');
    expect(readFileSync(path.join(out, 'thumbnail.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('exits 3 with a one-line reason and writes nothing for broken, missing and unsupported files', async () => {
    const cases = [
      broken.truncated,
      broken.corruptTile,
      broken.empty,
      broken.text,
      path.join(dir, 'absent.svs'),
      path.join(fixtures, 'unopenable.tiff'),
    ];
    expect(existsSync(cases[cases.length - 1]!), 'the shared fixture unopenable.tiff').toBe(true);
    for (const file of cases) {
      const out = path.join(dir, `out-${path.basename(file)}`);
      const started = Date.now();
      const result = await runCli(['tile', file, '--out', out, '--write-patches']);
      expect(result.code, `${file}: ${result.stderr}`).toBe(3);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^pathgen: (SlideUnreadable|SlideNotFound|UnsupportedFormat): /);
      expect(existsSync(out), file).toBe(false);
      expect(Date.now() - started).toBeLessThan(20_000);
    }
  });

  it('rejects a bad flag value with exit 2', async () => {
    const result = await runCli(['tile', svs, '--out', path.join(dir, 'x'), '--patch-size', 'big']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--patch-size takes an integer');
  });
});
