import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractFindings } from '../../activities/agents/builtin-findings.js';
import { PathgenError } from '../../activities/common/errors.js';
import { densityLevel, measurePatch, type PatchMeasurements } from '../../activities/histology/index.js';
import { validateManifestRow } from '../../activities/manifest/manifest-row.js';
import { openSlide, readCandidate, tileSlideToDirectory } from '../../activities/wsi/index.js';
import { parseCandidatesJsonl } from '../../activities/wsi/tissue-patch-plan.js';
import { writeDemoCohort, writeHeldOutPatches, type DemoCohort } from '../../workers/demo/demo-cohort.js';
import type { DemoTissueKind } from '../../workers/synthetic/slides/tissue-kinds.js';

let dir: string;
let cohort: DemoCohort;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pathgen-demo-cohort-'));
  cohort = await writeDemoCohort(path.join(dir, 'slides'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

describe('writeDemoCohort', () => {
  it('writes three Aperio slides of three kinds, with reports and valid manifest rows', async () => {
    expect(cohort.slides.map((s) => [s.slideId, s.kind, s.project, s.reused])).toEqual([
      ['demo-001-dense-tumour', 'dense-tumour', 'TCGA-BRCA', false],
      ['demo-002-adipose', 'adipose', 'TCGA-SARC', false],
      ['demo-003-glandular', 'glandular', 'TCGA-COAD', false],
    ]);
    for (const [index, row] of cohort.manifestRows.entries()) {
      const slide = cohort.slides[index]!;
      expect(validateManifestRow(row, index + 1)).toEqual({ line: index + 1, row });
      expect(row.slide).toBe(slide.path);
      expect(path.isAbsolute(row.slide)).toBe(true);
      const reader = await openSlide(row.slide);
      try {
        expect(reader.vendor).toBe('aperio');
        expect(reader.mpp).toEqual({ x: 0.25, y: 0.25 });
        expect(reader.objectivePower).toBe(40);
        expect(reader.levels.map((l) => [l.width, l.height])).toEqual([
          [8000, 6000],
          [2000, 1500],
          [500, 375],
        ]);
        expect(reader.associatedImages.map((a) => a.name).sort()).toEqual(['label', 'macro', 'thumbnail']);
      } finally {
        await reader.close();
      }
    }
    const diagnoses = cohort.manifestRows.map((row) => extractFindings(row.report!).join('; '));
    expect(diagnoses[0]).toContain('invasive ductal carcinoma');
    expect(diagnoses[0]).toContain('nottingham grade 3');
    expect(diagnoses[1]).toContain('well-differentiated liposarcoma');
    expect(diagnoses[2]).toContain('moderately differentiated adenocarcinoma');
    for (const findings of diagnoses) expect(findings).toMatch(/margin/);
  });

  it('tiles every slide to a few dozen candidates whose kinds measure apart', async () => {
    const measured = new Map<DemoTissueKind, PatchMeasurements[]>();
    for (const slide of cohort.slides) {
      const outDir = path.join(dir, 'tiles', slide.slideId);
      const summary = await tileSlideToDirectory(slide.path, outDir);
      expect(summary.candidates).toBeGreaterThanOrEqual(20);
      expect(summary.candidates).toBeLessThanOrEqual(80);
      const candidates = parseCandidatesJsonl(await readFile(path.join(outDir, 'candidates.jsonl'), 'utf8'), 'test');
      const reader = await openSlide(slide.path);
      try {
        const sample = candidates.filter((_, i) => i % Math.ceil(candidates.length / 5) === 0);
        const rows: PatchMeasurements[] = [];
        for (const candidate of sample) rows.push(measurePatch(await readCandidate(reader, candidate), { mpp: 0.25 }));
        measured.set(slide.kind, rows);
      } finally {
        await reader.close();
      }
    }
    const of = (kind: DemoTissueKind, value: (m: PatchMeasurements) => number) =>
      median(measured.get(kind)!.map(value));
    const density = (m: PatchMeasurements) => m.nuclei.perMm2!;
    expect(of('dense-tumour', density)).toBeGreaterThan(2 * of('glandular', density));
    expect(of('glandular', density)).toBeGreaterThan(2 * of('adipose', density));
    expect(of('adipose', (m) => m.fatFraction)).toBeGreaterThan(0.3);
    expect(of('dense-tumour', (m) => m.fatFraction)).toBeLessThan(0.02);
    expect(of('glandular', (m) => m.lumenFraction)).toBeGreaterThan(4 * of('dense-tumour', (m) => m.lumenFraction));
    expect(of('dense-tumour', (m) => m.eosin.mean)).toBeGreaterThan(of('adipose', (m) => m.eosin.mean));
    // The words the built-in describe agent chooses follow from these levels.
    expect(measured.get('dense-tumour')!.map(densityLevel)).toEqual(measured.get('dense-tumour')!.map(() => 'dense'));
    expect(measured.get('glandular')!.map(densityLevel)).toContain('moderate');
    expect(measured.get('adipose')!.map(densityLevel)).not.toContain('dense');
  });

  it('reuses complete slides on a rerun and rewrites one whose sidecar is missing', async () => {
    const slidesDir = path.join(dir, 'slides');
    const before = await Promise.all(cohort.slides.map((s) => stat(s.path)));
    await rm(cohort.slides[1]!.path.replace(/\.svs$/, '.json'));
    await writeFile(`${cohort.slides[2]!.path}.partial-deadbeef`, 'left over by a crash');
    const again = await writeDemoCohort(slidesDir);
    expect(again.slides.map((s) => s.reused)).toEqual([true, false, true]);
    expect(again.manifestRows).toEqual(cohort.manifestRows);
    const after = await Promise.all(cohort.slides.map((s) => stat(s.path)));
    expect(after[0]!.mtimeMs).toBe(before[0]!.mtimeMs);
    expect(after[2]!.mtimeMs).toBe(before[2]!.mtimeMs);
    expect(after[1]!.size).toBe(before[1]!.size);
    const names = await readdir(slidesDir);
    expect(names.filter((name) => name.includes('.partial-') && !name.endsWith('deadbeef'))).toEqual([]);
  });

  it('is deterministic for a seed, differs for another, and names non-default slides apart', async () => {
    const small = { slides: 2, width: 2688, height: 2016 };
    const [a, b, c] = await Promise.all([
      writeDemoCohort(path.join(dir, 'a'), small),
      writeDemoCohort(path.join(dir, 'b'), small),
      writeDemoCohort(path.join(dir, 'c'), { ...small, seed: 7 }),
    ]);
    expect(a.slides.map((s) => s.slideId)).toEqual(['demo-001-dense-tumour-2688x2016', 'demo-002-adipose-2688x2016']);
    expect(c.slides.map((s) => s.slideId)).toEqual([
      'demo-001-dense-tumour-s7-2688x2016',
      'demo-002-adipose-s7-2688x2016',
    ]);
    for (let i = 0; i < 2; i++) {
      expect(await sha256(a.slides[i]!.path)).toBe(await sha256(b.slides[i]!.path));
      expect(await sha256(a.slides[i]!.path)).not.toBe(await sha256(c.slides[i]!.path));
    }
    expect(a.manifestRows.map((r) => r.report)).toEqual(b.manifestRows.map((r) => r.report));
    expect(a.manifestRows.map((r) => r.report)).not.toEqual(c.manifestRows.map((r) => r.report));
  });

  it('refuses a cohort it cannot write', async () => {
    const refused = (options: Parameters<typeof writeDemoCohort>[1]) =>
      writeDemoCohort(path.join(dir, 'refused'), options).then(
        () => undefined,
        (error: unknown) => error,
      );
    for (const options of [{ slides: 0 }, { slides: 1.5 }, { seed: -1 }, { slides: 1, width: 600 }]) {
      const error = await refused(options);
      expect(error).toBeInstanceOf(PathgenError);
      expect((error as PathgenError).code).toBe('InvalidInput');
    }
  });
});

describe('writeHeldOutPatches', () => {
  it('writes labelled patches of every kind in a folder per kind, once', async () => {
    const out = path.join(dir, 'held-out');
    const written = await writeHeldOutPatches(out, { perKind: 2, seed: 3 });
    expect(written.classes.map((c) => [c.kind, path.basename(c.dir)])).toEqual([
      ['dense-tumour', 'dense-tumour'],
      ['adipose', 'adipose'],
      ['glandular', 'glandular'],
    ]);
    expect(written.classes.map((c) => c.className)).toEqual([
      'densely cellular carcinoma',
      'adipose tissue',
      'gland-forming adenocarcinoma',
    ]);
    expect(written.patches).toHaveLength(6);
    const csv = (await readFile(written.labelsCsv, 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('filepath,label');
    expect(csv.slice(1)).toEqual(written.patches.map((p) => `${path.relative(out, p.path)},${p.kind}`));

    const fat: Record<string, number> = {};
    for (const patch of written.patches) {
      expect(path.basename(path.dirname(patch.path))).toBe(patch.kind);
      const { data, info } = await sharp(patch.path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([672, 672, 3]);
      fat[patch.kind] = measurePatch({ data, width: 672, height: 672 }, { mpp: 0.25 }).fatFraction;
    }
    expect(fat.adipose).toBeGreaterThan(0.2);
    expect(fat['dense-tumour']).toBeLessThan(0.02);

    const before = await stat(written.patches[0]!.path);
    await writeHeldOutPatches(out, { perKind: 2, seed: 3 });
    expect((await stat(written.patches[0]!.path)).mtimeMs).toBe(before.mtimeMs);
  });
});
